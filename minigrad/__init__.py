"""minigrad: a small tensor/autograd engine with Cython kernels for dropout networks."""
from .backend import (backend_info, get_backend, get_num_threads, set_backend, set_matmul,
                      set_num_threads)
from .random import manual_seed

__version__ = "0.1.0"
