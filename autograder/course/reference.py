"""Instructor-only: each course component's check paired with the hidden reference.

Never shipped to students (it imports ``solutions``). The main job and the tests
run every pair; a reference that fails its own check is a bug in one of the two.
"""

import solutions as S
from autograder.student import components as C
from autograder.course.gradcheck import gradcheck_module
from solutions import descent, gradcheck, speech, torch_mnist

REFERENCE_CHECKS = [  # (component, torch counterpart, check, reference)
    ("weighted_sum", "X @ w + b", C.check_weighted_sum, S.weighted_sum),
    ("step", "torch.heaviside(z, 1)", C.check_step, S.step),
    ("Perceptron.update", "torch perceptron rule", C.check_perceptron_update, S.Perceptron),
    ("Perceptron.fit", "labels of separable data", C.check_perceptron_fit, S.Perceptron),
    ("Perceptron.fit (XOR)", "reports non-convergence", C.check_perceptron_xor, S.Perceptron),
    ("stable_sigmoid", "torch.sigmoid", C.check_stable_sigmoid, S.activations.stable_sigmoid),
    ("Sigmoid", "torch.sigmoid", C.check_sigmoid, S.Sigmoid),
    ("Tanh", "torch.tanh", C.check_tanh, S.Tanh),
    ("ReLU", "F.relu", C.check_relu, S.ReLU),
    ("LeakyReLU", "F.leaky_relu(x, 0.1)", C.check_leaky_relu, S.LeakyReLU),
    ("ELU", "F.elu", C.check_elu, S.ELU),
    ("GELU", "F.gelu", C.check_gelu, S.GELU),
    ("SiLU", "F.silu", C.check_silu, S.SiLU),
    ("Maxout", "k × F.linear + torch.max", C.check_maxout, S.Maxout),
    ("Linear", "F.linear", C.check_linear, S.Linear),
    ("MSELoss", "F.mse_loss", C.check_mse, S.MSELoss),
    ("CrossEntropyLoss", "F.cross_entropy", C.check_cross_entropy, S.CrossEntropyLoss),
    ("SGD", "torch.optim.SGD", C.check_sgd, S.SGD),
    ("Adam", "torch.optim.Adam", C.check_adam, S.Adam),
    ("MLP", "nn.Sequential", C.check_mlp, S.MLP),
    ("xavier_uniform", "torch.nn.init.xavier_uniform_", C.check_xavier_uniform, S.xavier_uniform),
    ("kaiming_normal", "torch.nn.init.kaiming_normal_", C.check_kaiming_normal, S.kaiming_normal),
    ("numerical_gradient", "torch autograd", C.check_numerical_gradient,
     gradcheck.numerical_gradient),
    ("gradient_descent", "torch.linalg.lstsq", C.check_gradient_descent, descent.gradient_descent),
    ("MNISTDataset", "DataLoader batches", C.check_mnist_dataset, torch_mnist.MNISTDataset),
    ("build_model", "(N, 784) -> (N, 10) logits", C.check_mnist_model, torch_mnist.build_model),
    ("train_one_epoch", "torch's canonical loop", C.check_train_one_epoch,
     torch_mnist.train_one_epoch),
    ("predict_loader", "argmax of logits", C.check_predict_loader, torch_mnist.predict_loader),
    ("ContextFrames", "F.pad + Tensor.unfold", C.check_context_frames, speech.ContextFrames),
    ("build_frame_model", "(N, (2k+1)·28) -> (N, 40) logits", C.check_frame_model,
     speech.build_frame_model),
    ("Dropout", "nn.Dropout", C.check_dropout, S.Dropout),
    ("BatchNorm1d", "nn.BatchNorm1d", C.check_batchnorm, S.BatchNorm1d),
]


def finite_difference_check(make, shape):
    def check(impl, seed=0, device="auto"):
        return gradcheck_module(lambda: make(impl), shape, name=f"{impl.__name__} finite differences",
                                seed=seed)
    return check


FINITE_DIFFERENCE_CHECKS = [  # second opinions, first of all for Maxout (no torch op)
    ("Maxout", "finite differences", finite_difference_check(lambda M: M(4, 3, k=3), (5, 4)),
     S.Maxout),
    ("GELU", "finite differences", finite_difference_check(lambda G: G(), (3, 4)), S.GELU),
    ("Linear", "finite differences", finite_difference_check(lambda L: L(4, 3), (5, 4)), S.Linear),
    ("MLP", "finite differences", finite_difference_check(lambda M: M([4, 6, 3]), (3, 4)), S.MLP),
    ("BatchNorm1d", "finite differences", finite_difference_check(lambda B: B(4), (6, 4)),
     S.BatchNorm1d),
]
