"""Which kernel implementation runs, on how many threads, and how it was built.

minigrad has two implementations of every kernel: compiled Cython modules
(``minigrad._ext``) and their numpy twins (``minigrad.kernels.reference``). This
module picks one per kernel and reports the choice; ``minigrad.kernels.dispatch`` calls
the module it picked. Its public functions are re-exported as ``minigrad.set_backend``,
``minigrad.using_backend``, ``minigrad.backend_info`` and so on.

Environment switches, read once at import. Unset or empty means the default; any other
value outside the accepted ones makes ``import minigrad`` raise ValueError naming the
variable, the value and what is accepted (a typo in a benchmark's settings must not
silently measure something else):

``MINIGRAD_BACKEND=compiled|numpy``
    ``numpy``: use the numpy reference kernels everywhere (default: ``compiled``).
``MINIGRAD_REQUIRE_COMPILED=0|1``
    ``1``: a compiled kernel that fails to import raises ImportError instead of falling
    back to numpy with a warning. CI and the benchmarks set it, so a silent slow path
    cannot pass for the fast one (default: ``0``).
``MINIGRAD_MATMUL=minigrad|blas``
    ``blas``: use numpy's BLAS (``np.matmul``) for matrix products instead of
    minigrad's own kernel, for comparison (default: ``minigrad``).
``MINIGRAD_NUM_THREADS=n|auto``
    Thread count of the compiled kernels, an integer from 1 to :data:`MAX_THREADS`;
    ``auto`` (the default) is the number of cores this process may use.

Threads and ``fork()``. The compiled kernels run on OpenMP, and GNU OpenMP (libgomp,
GCC's runtime) keeps a pool of worker threads that ``fork()`` does not copy: a forked
child that opens a parallel region on more than one thread waits forever for workers
that do not exist. A region on one thread never touches the pool, so a child forked
from a process that imported minigrad (``os.fork``, multiprocessing's ``'fork'``
start method) runs the kernels on one thread: an at-fork handler sets the count to 1,
and :func:`set_num_threads` there warns and keeps 1. Results are unchanged, as they
do not depend on the thread count. Processes started with ``'spawn'`` or
``'forkserver'`` import minigrad afresh and get every thread.
"""
import contextlib
import importlib
import os
import warnings

import numpy as np

from ..checks import check_choice, check_int
from . import reference

KERNELS = ("matmul", "relu", "dropout", "gaussian_dropout", "maxnorm", "fused_linear", "sgd",
           "alpha_dropout", "dropconnect")
BACKENDS = ("compiled", "numpy")
MATMUL_CHOICES = ("minigrad", "blas")
#: The most threads :func:`set_num_threads` accepts: 4 per CPU of the machine, and at
#: least 64. More threads than cores only oversubscribe (each kernel splits its work
#: into at most that many parts); 4x leaves room to experiment, and the floor of 64 keeps
#: a configuration written on a big machine usable on a small one. Far larger counts
#: exhaust the process limit, and libgomp then exits the process with "Thread creation
#: failed" instead of raising.
MAX_THREADS = max(64, 4 * (os.cpu_count() or 1))


def _environment(name, accepted, default):
    """The value of environment variable ``name``: one of ``accepted``, ``default`` if unset or empty."""
    value = os.environ.get(name, "")
    if value == "":
        return default
    if value not in accepted:
        raise ValueError(f"environment variable {name}={value!r} is invalid: "
                         f"use one of {', '.join(accepted)}, or leave it unset "
                         f"(default {default})")
    return value


def _import_compiled():
    """Import every compiled kernel module; return (modules, {name: error})."""
    modules, errors = {}, {}
    for name in KERNELS + ("build_info",):
        try:
            modules[name] = importlib.import_module(f"minigrad._ext.{name}")
        except ImportError as exc:
            errors[name] = exc
    return modules, errors


_require_compiled = _environment("MINIGRAD_REQUIRE_COMPILED", ("0", "1"), "0") == "1"
_compiled, _import_errors = _import_compiled()
if _import_errors and _require_compiled:
    raise ImportError(
        "MINIGRAD_REQUIRE_COMPILED=1 but these compiled kernels failed to import: "
        + "; ".join(f"{name}: {err}" for name, err in _import_errors.items())
        + ". Rebuild with `pip install .` from the source tree.")

_state = {"backend": None, "matmul": None, "num_threads": None, "forked_child": False}
#: kernel name -> module providing it (a compiled module or ``reference``)
implementations = {}


def available_cores():
    """The number of CPU cores this process is allowed to run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not available on macOS and Windows
        return os.cpu_count() or 1


def set_backend(name):
    """Select the kernel implementation: ``"compiled"`` (Cython) or ``"numpy"``.

    Kernels that failed to compile fall back to numpy with a warning (or the import
    of minigrad failed, under ``MINIGRAD_REQUIRE_COMPILED=1``).
    """
    check_choice("backend", name, BACKENDS)
    _state["backend"] = name
    missing = []
    for kernel in KERNELS:
        if name == "compiled" and kernel in _compiled:
            implementations[kernel] = _compiled[kernel]
        else:
            implementations[kernel] = reference
            if name == "compiled":
                missing.append(kernel)
    if missing:
        warnings.warn(f"minigrad: compiled kernels {missing} are unavailable "
                      f"({'; '.join(str(_import_errors[k]) for k in missing)}); "
                      "using the slower numpy reference kernels instead.",
                      RuntimeWarning, stacklevel=2)
    _apply_matmul_choice()


def get_backend():
    """The selected kernel backend, ``"compiled"`` or ``"numpy"``."""
    return _state["backend"]


def set_matmul(name):
    """Select the matrix product: ``"minigrad"`` (the selected backend's gemm) or ``"blas"``.

    ``"blas"`` routes every product through ``np.matmul`` (numpy's BLAS), whatever
    the backend; it exists to compare minigrad's kernel against it.
    """
    check_choice("matmul", name, MATMUL_CHOICES)
    _state["matmul"] = name
    _apply_matmul_choice()


def _apply_matmul_choice():
    if _state["matmul"] == "blas":
        implementations["matmul"] = reference
    elif _state["backend"] == "compiled" and "matmul" in _compiled:
        implementations["matmul"] = _compiled["matmul"]


def set_num_threads(n):
    """Set the number of threads the compiled kernels use, an int from 1 to :data:`MAX_THREADS`.

    Results do not depend on it: every kernel splits its work so that each output
    element is computed by the same arithmetic in the same order on any thread count.
    In a process forked from one that imported minigrad, the kernels stay on one thread
    (see the module docstring): ``n > 1`` there warns and is ignored.

    Example::

        >>> import minigrad
        >>> minigrad.set_num_threads(2); minigrad.get_num_threads()
        2
    """
    n = check_int("number of threads (at most minigrad.kernels.backend.MAX_THREADS, 4 per "
                  "CPU and at least 64)", n, minimum=1, maximum=MAX_THREADS)
    if _state["forked_child"] and n > 1:
        warnings.warn(f"minigrad: set_num_threads({n}) ignored: this process was forked "
                      "after minigrad was imported, and GNU OpenMP's thread pool does not "
                      "survive fork(), so the compiled kernels stay on 1 thread (results "
                      "are the same). Start workers with multiprocessing's 'spawn' or "
                      "'forkserver' method to use more threads.", RuntimeWarning, stacklevel=2)
        n = 1
    _state["num_threads"] = int(n)


def get_num_threads():
    """The number of threads the compiled kernels use."""
    return _state["num_threads"]


def get_matmul():
    """The selected matrix product, ``"minigrad"`` or ``"blas"`` (see :func:`set_matmul`)."""
    return _state["matmul"]


@contextlib.contextmanager
def using_backend(name=None, *, matmul=None, threads=None):
    """Run a block on the given backend, matrix product and thread count; restore after.

    Each argument left as None keeps the current setting. The previous settings come
    back when the block ends, by an exception too. The settings are process-wide (as
    the kernels' are), so do not switch them from two threads at once.

    Example::

        >>> import minigrad
        >>> with minigrad.using_backend("numpy", threads=1):
        ...     minigrad.get_backend(), minigrad.get_num_threads()
        ('numpy', 1)
    """
    saved = get_backend(), get_matmul(), get_num_threads()
    try:
        if name is not None:
            set_backend(name)
        if matmul is not None:
            set_matmul(matmul)
        if threads is not None:
            set_num_threads(threads)
        yield
    finally:
        with warnings.catch_warnings():  # the saved backend was accepted once already
            warnings.simplefilter("ignore", RuntimeWarning)
            set_backend(saved[0])
        set_matmul(saved[1])
        set_num_threads(saved[2])


def backend_info():
    """Describe the running configuration as a dict (print it next to any benchmark).

    Keys: ``backend``, ``matmul``, ``kernels`` (kernel -> ``"compiled"`` or
    ``"numpy"``), ``compiled_available``, ``import_errors``, ``openmp``,
    ``num_threads``, ``forked_child`` (True in a process forked after the import, which
    runs on one thread), ``simd``, ``compile_args``, ``debug_build``, ``numpy_version``.
    """
    build = _compiled.get("build_info")
    return {
        "backend": _state["backend"],
        "matmul": _state["matmul"],
        "kernels": {k: ("numpy" if implementations[k] is reference else "compiled")
                    for k in KERNELS},
        "compiled_available": sorted(k for k in KERNELS if k in _compiled),
        "import_errors": {k: str(e) for k, e in _import_errors.items()},
        "openmp": build.openmp_enabled() if build else False,
        "num_threads": _state["num_threads"],
        "forked_child": _state["forked_child"],
        "simd": build.simd_level() if build else None,
        "compile_args": build.compile_args() if build else None,
        "debug_build": build.debug_build() if build else None,
        "numpy_version": np.__version__,
    }


def _threads_from_environment():
    """``MINIGRAD_NUM_THREADS`` as a thread count: a decimal integer, ``auto`` or unset."""
    raw = os.environ.get("MINIGRAD_NUM_THREADS", "")
    value = raw.strip()
    if value.lower() in ("", "auto"):
        return available_cores()
    if not (value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_THREADS):
        raise ValueError(f"environment variable MINIGRAD_NUM_THREADS={raw!r} is invalid: "
                         f"use an integer from 1 to {MAX_THREADS}, or auto (the "
                         f"{available_cores()} cores this process may use, the default)")
    return int(value)


def _configure_from_environment():
    set_num_threads(_threads_from_environment())
    _state["matmul"] = _environment("MINIGRAD_MATMUL", MATMUL_CHOICES, "minigrad")
    set_backend(_environment("MINIGRAD_BACKEND", BACKENDS, "compiled"))


def _after_fork_in_child():
    # libgomp's worker threads are not copied by fork(); a one-thread parallel region
    # returns before touching the pool (gomp_team_start), so the child is safe on 1.
    _state["forked_child"] = True
    _state["num_threads"] = 1


_configure_from_environment()
if hasattr(os, "register_at_fork"):  # POSIX only; Windows has no fork()
    os.register_at_fork(after_in_child=_after_fork_in_child)
