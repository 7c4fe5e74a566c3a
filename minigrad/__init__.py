"""minigrad: a small tensor/autograd engine with Cython kernels for dropout networks.

The pieces, in reading order:

- ``tensor``: the Tensor (data, grad, and the op that made it) and the Function
  base class of the ops;
- ``autograd``: grad mode and the iterative backward pass;
- ``ops``: differentiable ops, forward and backward side by side;
- ``kernels``: the hot loops (Cython, with numpy twins) behind a validating dispatch,
  and ``kernels.backend``: which kernels run, on how many threads;
- ``random``: the library's seeded Generator.
"""
from .autograd import is_grad_enabled, no_grad
from .kernels.backend import (backend_info, get_backend, get_matmul, get_num_threads,
                              set_backend, set_matmul, set_num_threads, using_backend)
from .gradcheck import gradcheck
from .ops import (add, alpha_dropout, astype, concrete_dropout, concrete_dropout_regularizer,
                  cross_entropy, div, dropconnect_linear, dropout, exp, gaussian_dropout, log,
                  log_softmax, matmul, mean, mse_loss, mul, neg, pow, relu, reshape, selu,
                  sigmoid, softmax, sub, sum, tanh, transpose)
from .random import manual_seed
from .tensor import Tensor, tensor

__version__ = "0.1.0"
