"""backend_info, backend and thread selection."""
import numpy as np
import pytest

import minigrad as mg
from minigrad.kernels import backend
from minigrad.kernels import reference


def test_backend_info_reports_the_configuration():
    info = mg.backend_info()
    for key in ("backend", "matmul", "kernels", "openmp", "num_threads", "simd",
                "compile_args", "numpy_version", "compiled_available"):
        assert key in info
    assert info["numpy_version"] == np.__version__
    assert set(info["kernels"]) == set(backend.KERNELS)
    assert info["num_threads"] == mg.get_num_threads()


def test_numpy_backend_routes_every_kernel_to_the_twins():
    previous = mg.get_backend()
    try:
        mg.set_backend("numpy")
        assert set(mg.backend_info()["kernels"].values()) == {"numpy"}
    finally:
        mg.set_backend(previous)


def test_blas_matmul_is_selectable_and_agrees():
    a = np.random.default_rng(0).standard_normal((7, 5))
    b = np.random.default_rng(1).standard_normal((5, 3))
    try:
        mg.set_matmul("blas")
        assert mg.backend_info()["kernels"]["matmul"] == "numpy"
        blas = (mg.tensor(a) @ mg.tensor(b)).data
    finally:
        mg.set_matmul("minigrad")
    np.testing.assert_allclose((mg.tensor(a) @ mg.tensor(b)).data, blas, rtol=1e-12)


def test_thread_count_is_settable():
    previous = mg.get_num_threads()
    try:
        mg.set_num_threads(1)
        assert mg.backend_info()["num_threads"] == 1
    finally:
        mg.set_num_threads(previous)


def test_using_backend_switches_for_the_block_and_restores_after_an_error():
    before = mg.get_backend(), mg.get_matmul(), mg.get_num_threads()
    with pytest.raises(KeyError):
        with mg.using_backend("numpy", matmul="blas", threads=1):
            assert (mg.get_backend(), mg.get_matmul(),
                    mg.get_num_threads()) == ("numpy", "blas", 1)
            assert backend.implementations["relu"] is reference
            raise KeyError("inside")
    assert (mg.get_backend(), mg.get_matmul(), mg.get_num_threads()) == before


def test_using_backend_keeps_what_it_is_not_given_and_refuses_bad_values_unchanged():
    before = mg.get_backend(), mg.get_matmul(), mg.get_num_threads()
    with mg.using_backend(threads=1):
        assert mg.get_backend() == before[0] and mg.get_matmul() == before[1]
    for bad in ({"name": "gpu"}, {"matmul": "mkl"}, {"threads": 0}):
        with pytest.raises(ValueError):
            with mg.using_backend(**bad):
                pass
        assert (mg.get_backend(), mg.get_matmul(),
                mg.get_num_threads()) == before
