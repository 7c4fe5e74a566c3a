"""Switch minigrad's backend settings for one block of a test, and put them back after."""
import warnings
from contextlib import ExitStack, contextmanager

import minigrad
from minigrad.kernels import backend


@contextmanager
def backend_settings(backend_name=None, matmul=None, n_threads=None):
    """``minigrad.using_backend`` for tests: other kernels may be missing (no warning)."""
    with ExitStack() as stack:
        with warnings.catch_warnings():  # tests assert the kernel they use
            warnings.simplefilter("ignore", RuntimeWarning)
            stack.enter_context(minigrad.using_backend(backend_name, matmul=matmul,
                                                       threads=n_threads))
        yield


@contextmanager
def compiled_kernel(name, module, n_threads):
    """Run the dispatch layer on the compiled ``module`` for kernel ``name``, on ``n_threads``."""
    with backend_settings("compiled", n_threads=n_threads):
        assert backend.implementations[name] is module
        yield
