"""Differentiable ops. Each module holds Function classes (forward and backward side by
side) and the functions users call, which validate arguments and apply them."""
from .activations import exp, log, relu, selu, sigmoid, tanh
from .alpha_dropout import alpha_dropout
from .arithmetic import add, div, mul, neg, pow, sub
from .concrete_dropout import concrete_dropout, concrete_dropout_regularizer
from .dropconnect import dropconnect_linear
from .dropout import dropout
from .gaussian_dropout import gaussian_dropout
from .losses import cross_entropy, mse_loss
from .matmul import matmul
from .reduction import mean, sum
from .shape import astype, reshape, transpose
from .softmax import log_softmax, softmax
