"""Which minigrad a bench script measures, and one line that says so.

By default the bench scripts measure the **installed** package, what a user gets from
``pip install .``: this module removes the source tree from ``sys.path`` before it
imports minigrad, so a checkout whose kernels were never compiled cannot shadow it.

A developer who compiled the kernels next to the sources (``python setup.py build_ext
--inplace``, which needs Cython, setuptools and numpy: ``pip install "Cython>=3"
"setuptools>=64" numpy``) measures that tree instead with ``MINIGRAD_BENCH_SOURCE=1``.
The variable is inherited by the child processes that ``train_step.py`` starts, so
every contender imports the same copy.

Example::

    from which_minigrad import describe, import_minigrad
    minigrad = import_minigrad()
    print(describe(minigrad))
    # minigrad: installed package at .../site-packages/minigrad; kernels: matmul compiled, ...
"""
import os
import sys

SOURCE_TREE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV_VAR = "MINIGRAD_BENCH_SOURCE"


def use_source_tree():
    """True when ``MINIGRAD_BENCH_SOURCE=1`` asks for the source tree's minigrad."""
    return os.environ.get(ENV_VAR, "0") == "1"


def import_minigrad():
    """Import and return minigrad: the installed one, or the source tree's (module docstring).

    Exits with instructions (not a bare ImportError) when the chosen copy is missing.
    A minigrad already imported (a test importing a bench script) is returned as it is.
    """
    if "minigrad" in sys.modules:
        return sys.modules["minigrad"]
    if use_source_tree():
        sys.path.insert(0, SOURCE_TREE)
    else:
        sys.path[:] = [p for p in sys.path
                       if os.path.abspath(p or os.curdir) != SOURCE_TREE]
    try:
        import minigrad
    except ImportError as exc:
        where = (f"the source tree {SOURCE_TREE} (build it in place: python setup.py "
                 "build_ext --inplace)" if use_source_tree()
                 else f"an installed package (pip install {SOURCE_TREE}; or build the "
                      f"source tree in place and set {ENV_VAR}=1)")
        raise SystemExit(f"cannot import minigrad from {where}: {exc}") from None
    return minigrad


def describe(minigrad):
    """One line: which copy of minigrad was imported, its kernels and thread count."""
    info = minigrad.backend_info()
    origin = "source tree" if use_source_tree() else "installed package"
    kernels = ", ".join(f"{name} {how}" for name, how in info["kernels"].items())
    return (f"minigrad: {origin} at {os.path.dirname(minigrad.__file__)}; kernels: "
            f"{kernels}; {info['num_threads']} threads")


def describe_tree(tree):
    """One line naming a source tree and the git commit it is at (when git can tell)."""
    import subprocess
    try:
        commit = subprocess.run(["git", "-C", tree, "log", "-1", "--format=%h %s"],
                                capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "not a git checkout"
    return f"minigrad source tree {tree} ({commit[:100]})"
