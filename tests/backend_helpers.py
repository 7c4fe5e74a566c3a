"""Switch minigrad's backend settings for one block of a test, and put them back after."""
import warnings
from contextlib import contextmanager

from minigrad import backend


def _set_backend_quietly(name):
    with warnings.catch_warnings():  # other kernels may be missing; tests assert the one they use
        warnings.simplefilter("ignore", RuntimeWarning)
        backend.set_backend(name)


@contextmanager
def backend_settings(backend_name=None, matmul=None, n_threads=None):
    """Select a backend, matmul and thread count (None: leave as is) for the block."""
    saved = backend.get_backend(), backend._state["matmul"], backend.get_num_threads()
    if backend_name is not None:
        _set_backend_quietly(backend_name)
    if matmul is not None:
        backend.set_matmul(matmul)
    if n_threads is not None:
        backend.set_num_threads(n_threads)
    try:
        yield
    finally:
        _set_backend_quietly(saved[0])
        backend.set_matmul(saved[1])
        backend.set_num_threads(saved[2])


@contextmanager
def compiled_kernel(name, module, n_threads):
    """Run the dispatch layer on the compiled ``module`` for kernel ``name``, on ``n_threads``."""
    with backend_settings("compiled", n_threads=n_threads):
        assert backend.implementations[name] is module
        yield
