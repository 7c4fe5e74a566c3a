"""The compiled ReLU kernels against their numpy twins, bit for bit, and the dispatch layer."""
import inspect
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from support.backends import compiled_kernel
from support.elementwise import THREADS, assert_bits_equal, float_vectors, specials
from support.layouts import views
from minigrad.kernels import dispatch, reference

relu = pytest.importorskip("minigrad._ext.relu")


def twin_forward(x):
    out = np.empty_like(x)
    reference.relu_forward(x, out, 1)
    return out


def twin_backward(g, y):
    grad_in = np.empty_like(g)
    reference.relu_backward(g, y, grad_in, 1)
    return grad_in


@given(float_vectors(), THREADS)
def test_forward_matches_twin(x, n_threads):
    out = np.empty_like(x)
    relu.relu_forward(x, out, n_threads)
    assert_bits_equal(out, twin_forward(x))


@given(st.data(), THREADS)
def test_backward_matches_twin(data, n_threads):
    g = data.draw(float_vectors())
    y = data.draw(float_vectors(dtype=g.dtype, size=g.size))
    grad_in = np.empty_like(g)
    relu.relu_backward(g, y, grad_in, n_threads)
    assert_bits_equal(grad_in, twin_backward(g, y))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_hand_computed_example(dtype):
    x = np.array([-2.0, -0.0, 0.0, 3.0, np.inf, -np.inf, np.nan], dtype=dtype)
    out = np.empty_like(x)
    relu.relu_forward(x, out, 1)
    assert_bits_equal(out, np.array([0.0, 0.0, 0.0, 3.0, np.inf, 0.0, np.nan], dtype=dtype))
    grad_in = np.empty_like(x)
    relu.relu_backward(np.full_like(x, 7.0), out, grad_in, 1)
    np.testing.assert_array_equal(grad_in, [0, 0, 0, 7, 7, 0, 0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_payloads_pass_through(dtype):
    x = specials(dtype)
    out = np.empty_like(x)
    relu.relu_forward(x, out, 1)
    nan = np.isnan(x)
    assert_bits_equal(out[nan], x[nan])


@given(float_vectors(size=150_001))
def test_thread_count_does_not_change_result(x):
    one, two = np.empty_like(x), np.empty_like(x)
    relu.relu_forward(x, one, 1)
    relu.relu_forward(x, two, 2)
    assert_bits_equal(one, two)


@given(st.data(), st.sampled_from([(1, 1), (3, 5), (17, 31), (301, 333)]), THREADS)
def test_dispatch_handles_strided_and_read_only_inputs(data, shape, n_threads):
    x2 = data.draw(float_vectors(size=shape[0] * shape[1])).reshape(shape)
    g2 = data.draw(float_vectors(dtype=x2.dtype, size=x2.size)).reshape(shape)
    with compiled_kernel("relu", relu, n_threads):
        for (name, x), g in zip(views(x2).items(), views(g2).values()):
            contiguous = np.ascontiguousarray(x)
            y = dispatch.relu_forward(x)
            assert y.shape == x.shape, name
            assert_bits_equal(y, twin_forward(contiguous.ravel()).reshape(x.shape))
            grad_in = dispatch.relu_backward(g, y)
            expected = twin_backward(np.ascontiguousarray(g).ravel(), y.ravel())
            assert_bits_equal(grad_in, expected.reshape(x.shape))


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.bool_, object, np.complex128, np.float16])
def test_dispatch_rejects_non_float_dtypes(dtype):
    x = np.ones(4, dtype=dtype)
    with pytest.raises(TypeError, match="float32 or float64"):
        dispatch.relu_forward(x)
    with pytest.raises(TypeError, match="float32 or float64"):
        dispatch.relu_backward(x, np.ones(4))


def test_dispatch_rejects_mismatches():
    with pytest.raises(ValueError, match="shape"):
        dispatch.relu_backward(np.ones(4), np.ones(5))
    with pytest.raises(TypeError, match="same dtype"):
        dispatch.relu_backward(np.ones(4, np.float32), np.ones(4, np.float64))
    with pytest.raises(TypeError, match="numpy array"):
        dispatch.relu_forward([1.0, 2.0])


def test_kernel_checks_lengths_and_threads():
    x = np.ones(8)
    with pytest.raises(ValueError, match="length"):
        relu.relu_forward(x, np.empty(7), 1)
    with pytest.raises(ValueError, match="lengths differ"):
        relu.relu_backward(x, x, np.empty(9), 1)
    with pytest.raises(ValueError, match="n_threads"):
        relu.relu_forward(x, np.empty(8), 0)


@pytest.mark.parametrize("function", ["relu_forward", "relu_backward"])
def test_signature_is_the_twins(function):
    assert (inspect.signature(getattr(relu, function))
            == inspect.signature(getattr(reference, function)))
