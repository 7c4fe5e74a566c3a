"""Bad input to the ops raises a clear exception naming the problem."""
import numpy as np
import pytest

import minigrad as mg


def f32(*shape):
    return mg.tensor(np.ones(shape, dtype=np.float32))


def test_matmul_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(4, 5\)"):
        f32(2, 3) @ f32(4, 5)


def test_matmul_needs_2d_operands():
    with pytest.raises(ValueError, match="2-D"):
        f32(3) @ f32(3, 2)


def test_matmul_mixed_dtypes():
    with pytest.raises(TypeError, match="dtype"):
        f32(2, 2) @ mg.tensor(np.ones((2, 2)))


@pytest.mark.parametrize("labels", [np.array([0.0, 1.0]), np.array([True, False]),
                                    mg.tensor([0.0, 1.0]), ["a", "b"]])
def test_cross_entropy_labels_of_the_wrong_type(labels):
    with pytest.raises(TypeError, match="labels"):
        mg.cross_entropy(f32(2, 3), labels)


@pytest.mark.parametrize("labels", [[0, 3], [-1, 0]])
def test_cross_entropy_labels_out_of_range(labels):
    with pytest.raises(ValueError, match=r"in \[0, 3\)"):
        mg.cross_entropy(f32(2, 3), labels)


def test_cross_entropy_label_shape_and_logit_rank():
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        mg.cross_entropy(f32(2, 3), [0, 1, 2])
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        mg.cross_entropy(f32(3), [0])
    with pytest.raises(ValueError, match="empty batch"):
        mg.cross_entropy(f32(0, 3), np.zeros(0, dtype=int))
    with pytest.raises(ValueError, match="reduction"):
        mg.cross_entropy(f32(2, 3), [0, 1], reduction="avg")


def test_mse_shape_mismatch():
    with pytest.raises(ValueError, match=r"\(2, 3\) != target shape \(3, 2\)"):
        mg.mse_loss(f32(2, 3), f32(3, 2))


def test_reshape_and_reduction_axes():
    with pytest.raises(ValueError, match=r"shape \(2, 3\) into \(4,\)"):
        f32(2, 3).reshape(4)
    with pytest.raises(ValueError, match="out of bounds"):
        f32(2, 3).sum(axis=2)
    with pytest.raises(ValueError, match="permutation"):
        f32(2, 3).transpose(0, 0)
    with pytest.raises(ValueError, match="out of bounds"):
        mg.softmax(f32(2, 3), axis=5)


def test_pow_needs_a_scalar_exponent():
    with pytest.raises(TypeError, match="exponent"):
        f32(2) ** f32(2)


def test_bool_operands_are_refused():
    with pytest.raises(TypeError, match="bool"):
        f32(2) + True


def test_thread_and_backend_settings_are_validated():
    with pytest.raises(ValueError, match=">= 1"):
        mg.set_num_threads(0)
    with pytest.raises(TypeError, match="int"):
        mg.set_num_threads(1.5)
    with pytest.raises(ValueError, match="backend"):
        mg.set_backend("gpu")
    with pytest.raises(ValueError, match="matmul"):
        mg.set_matmul("mkl")


def test_manual_seed_validation():
    with pytest.raises(TypeError):
        mg.manual_seed(1.5)
    with pytest.raises(ValueError):
        mg.manual_seed(-1)
