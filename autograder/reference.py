"""Instructor-only: each course component's check paired with the hidden reference.

Never shipped to students (it imports ``solutions``). The main job and the tests
run every pair; a reference that fails its own check is a bug in one of the two.
"""

import solutions as S
from autograder import components as C

REFERENCE_CHECKS = [  # (component, torch counterpart, check, reference)
    ("weighted_sum", "X @ w + b", C.check_weighted_sum, S.weighted_sum),
    ("step", "torch.heaviside(z, 1)", C.check_step, S.step),
    ("Perceptron.update", "torch perceptron rule", C.check_perceptron_update, S.Perceptron),
    ("Sigmoid", "torch.sigmoid", C.check_sigmoid, S.Sigmoid),
    ("Tanh", "torch.tanh", C.check_tanh, S.Tanh),
    ("ReLU", "F.relu", C.check_relu, S.ReLU),
    ("LeakyReLU", "F.leaky_relu(x, 0.1)", C.check_leaky_relu, S.LeakyReLU),
    ("ELU", "F.elu", C.check_elu, S.ELU),
    ("GELU", "F.gelu", C.check_gelu, S.GELU),
    ("SiLU", "F.silu", C.check_silu, S.SiLU),
    ("Maxout", "k × F.linear + torch.max; finite diff.", C.check_maxout, S.Maxout),
    ("Linear", "F.linear", C.check_linear, S.Linear),
    ("MSELoss", "F.mse_loss", C.check_mse, S.MSELoss),
    ("CrossEntropyLoss", "F.cross_entropy", C.check_cross_entropy, S.CrossEntropyLoss),
    ("SGD", "torch.optim.SGD", C.check_sgd, S.SGD),
    ("Adam", "torch.optim.Adam", C.check_adam, S.Adam),
    ("MLP", "nn.Sequential", C.check_mlp, S.MLP),
]
