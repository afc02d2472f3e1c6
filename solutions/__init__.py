"""firstmlp's hidden reference implementation (numpy). Never shipped to students."""

from solutions.activations import ELU, GELU, LeakyReLU, Maxout, ReLU, Sigmoid, SiLU, Swish, Tanh
from solutions.init import kaiming_normal, xavier_uniform
from solutions.linear import Linear
from solutions.losses import CrossEntropyLoss, MSELoss
from solutions.mlp import MLP, Sequential, accuracy, predict, train
from solutions.module import Module
from solutions.optim import SGD, Adam
from solutions.perceptron import Perceptron, step, weighted_sum
from solutions.regularization import BatchNorm1d, Dropout

__all__ = [
    "ELU", "GELU", "LeakyReLU", "Maxout", "ReLU", "Sigmoid", "SiLU", "Swish", "Tanh",
    "kaiming_normal", "xavier_uniform",
    "Linear", "CrossEntropyLoss", "MSELoss", "MLP", "Sequential", "accuracy", "predict",
    "train", "Module", "SGD", "Adam", "Perceptron", "step", "weighted_sum",
    "BatchNorm1d", "Dropout",
]
