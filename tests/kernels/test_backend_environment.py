"""The environment switches read by minigrad.kernels.backend at import, and the thread bound.

Unset or empty means the default; ``MINIGRAD_NUM_THREADS=auto`` means the cores this
process may use; any other value outside the accepted ones makes ``import minigrad``
raise ValueError naming the variable, the value and what is accepted. Each case imports
minigrad afresh in a subprocess (the switches are read once, at import).
"""
import os
import subprocess
import sys

import pytest

import minigrad
from minigrad.kernels import backend

SWITCHES = ("MINIGRAD_BACKEND", "MINIGRAD_MATMUL", "MINIGRAD_NUM_THREADS",
            "MINIGRAD_REQUIRE_COMPILED")


def import_with(**variables):
    """``import minigrad`` in a fresh interpreter with ``variables`` set; return the result."""
    # the minigrad this test imported (installed, or the source tree with built kernels):
    # `python -c` puts its working directory first on sys.path, so run it from there too
    home = os.path.dirname(os.path.dirname(minigrad.__file__))
    env = {k: v for k, v in os.environ.items() if k not in SWITCHES}
    env.update(variables, PYTHONPATH=home)
    code = ("import minigrad; info = minigrad.backend_info(); "
            "print(info['num_threads'], info['backend'], info['matmul'])")
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=60, cwd=home)


def test_max_threads_is_four_per_cpu_and_at_least_64():
    assert backend.MAX_THREADS == max(64, 4 * os.cpu_count())
    assert backend.available_cores() <= backend.MAX_THREADS


def test_max_threads_itself_is_accepted():
    with minigrad.using_backend(threads=backend.MAX_THREADS):
        assert minigrad.get_num_threads() == backend.MAX_THREADS


@pytest.mark.parametrize("value, expected", [
    ("", backend.available_cores()), ("auto", backend.available_cores()),
    ("AUTO", backend.available_cores()), ("1", 1), (" 3 ", 3),
    (str(backend.MAX_THREADS), backend.MAX_THREADS),
], ids=["empty", "auto", "AUTO", "1", "spaces", "MAX_THREADS"])
def test_num_threads_accepted(value, expected):
    result = import_with(MINIGRAD_NUM_THREADS=value)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(expected), "compiled", "minigrad"]


@pytest.mark.parametrize("value", ["garbage", "4 threads", "0", "-1", "+2", "2.0", "1_0",
                                   "100000", str(backend.MAX_THREADS + 1), "٣"],
                         ids=["garbage", "words", "0", "negative", "plus", "float",
                              "underscore", "100000", "MAX_THREADS+1", "arabic-indic-3"])
def test_num_threads_garbage_names_the_variable_and_the_value(value):
    result = import_with(MINIGRAD_NUM_THREADS=value)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ValueError: environment variable MINIGRAD_NUM_THREADS="), last
    assert repr(value) in last and f"from 1 to {backend.MAX_THREADS}" in last and "auto" in last


@pytest.mark.parametrize("variable, value, accepted", [
    ("MINIGRAD_BACKEND", "gpu", "compiled, numpy"),
    ("MINIGRAD_BACKEND", "Numpy", "compiled, numpy"),
    ("MINIGRAD_MATMUL", "mkl", "minigrad, blas"),
    ("MINIGRAD_REQUIRE_COMPILED", "yes", "0, 1"),
    ("MINIGRAD_REQUIRE_COMPILED", "true", "0, 1"),
], ids=["backend-gpu", "backend-case", "matmul-mkl", "require-yes", "require-true"])
def test_switch_garbage_names_the_variable_the_value_and_the_choices(variable, value, accepted):
    result = import_with(**{variable: value})
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"ValueError: environment variable {variable}={value!r}"), last
    assert accepted in last, last


@pytest.mark.parametrize("variables, expected", [
    ({"MINIGRAD_BACKEND": "", "MINIGRAD_MATMUL": "", "MINIGRAD_REQUIRE_COMPILED": ""},
     ["compiled", "minigrad"]),
    ({"MINIGRAD_BACKEND": "numpy", "MINIGRAD_MATMUL": "blas"}, ["numpy", "blas"]),
    ({"MINIGRAD_REQUIRE_COMPILED": "0"}, ["compiled", "minigrad"]),
], ids=["empty-is-default", "numpy-blas", "require-0"])
def test_switches_accepted(variables, expected):
    result = import_with(MINIGRAD_NUM_THREADS="1", **variables)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", *expected]


@pytest.mark.skipif(backend._import_errors != {}, reason="a compiled kernel is missing")
def test_require_compiled_1_imports_when_every_kernel_is_built():
    result = import_with(MINIGRAD_REQUIRE_COMPILED="1")
    assert result.returncode == 0, result.stderr
