"""Shared (tied) masks: ``shared_axes`` for dropout, Gaussian dropout and alpha dropout.

Oracles: the reduced mask drawn by the unshared kernel at the reduced shape (counter =
C-order index there), broadcast; a shared axis of size 1, which must give the unshared
op bit for bit; finite differences; binomial statistics with fixed seeds (5 standard
deviations: the number of kept values of a reduced mask of m entries is Binomial(m, 1-p)).
"""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.kernels import dispatch, reference
from minigrad.ops.alpha_dropout import ALPHA_PRIME
from minigrad.ops.shared_axes import check_shared_axes, mask_shape

OPS = {
    "dropout": mg.dropout,
    "gaussian": mg.gaussian_dropout,
    "alpha": mg.alpha_dropout,
}
LAYERS = {"dropout": nn.Dropout, "gaussian": nn.GaussianDropout, "alpha": nn.AlphaDropout}


@pytest.fixture
def backend(each_backend):
    return each_backend


def f64(array, requires_grad=False):
    return mg.tensor(np.asarray(array, dtype=np.float64), requires_grad=requires_grad)


def noise_of(kind, shape, p, rng, shared_axes):
    """What multiplies (or replaces) each unit, made visible: run the op on ones."""
    return OPS[kind](f64(np.ones(shape)), p, training=True, rng=rng,
                     shared_axes=shared_axes).data


# ---- the values are shared along the shared axes, and only along them ------------------

@pytest.mark.parametrize("kind", sorted(OPS))
@pytest.mark.parametrize("shape, axes", [((8, 20, 32), (1,)), ((16, 50), (0,)),
                                         ((6, 5, 4), (0, 2)), ((6, 5, 4), (-1,))])
def test_one_value_along_shared_axes_independent_elsewhere(backend, kind, shape, axes):
    values = noise_of(kind, shape, 0.5, 3, axes)
    normal_axes = check_shared_axes("test", axes, len(shape))
    first = values[tuple(slice(0, 1) if a in normal_axes else slice(None)
                         for a in range(len(shape)))]
    np.testing.assert_array_equal(values, np.broadcast_to(first, shape))
    # the reduced values are not all equal (each has its own counter)
    assert len(np.unique(first)) > 1


@pytest.mark.parametrize("kind", sorted(OPS))
def test_the_reduced_mask_is_the_unshared_op_at_the_reduced_shape(backend, kind):
    """Counter = C-order index in the reduced shape: the unshared op on a (8, 1, 32) array."""
    shared = noise_of(kind, (8, 20, 32), 0.4, 5, (1,))
    reduced = noise_of(kind, (8, 1, 32), 0.4, 5, ())
    np.testing.assert_array_equal(shared, np.broadcast_to(reduced, (8, 20, 32)))


@pytest.mark.parametrize("kind", sorted(OPS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_shared_axis_of_size_one_is_the_unshared_op_bit_for_bit(backend, kind, dtype):
    """The shared path (mask drawn, broadcast, applied) against the per-element kernel."""
    x = mg.tensor(np.random.default_rng(0).standard_normal((1, 3001)).astype(dtype))
    shared = OPS[kind](x, 0.3, training=True, rng=9, shared_axes=(0,)).data
    unshared = OPS[kind](x, 0.3, training=True, rng=9).data
    np.testing.assert_array_equal(shared.view(np.uint8), unshared.view(np.uint8))


@pytest.mark.parametrize("kind", sorted(OPS))
def test_empty_shared_axes_is_the_default(kind):
    x = f64(np.random.default_rng(1).standard_normal((7, 9)))
    np.testing.assert_array_equal(OPS[kind](x, 0.3, training=True, rng=2, shared_axes=()).data,
                                  OPS[kind](x, 0.3, training=True, rng=2).data)


def test_dropout_keeps_units_of_the_reduced_mask_with_probability_one_minus_p(backend):
    """A (200, 1000) input shared over the batch: 1000 draws, Binomial(1000, 0.7) kept."""
    p, units = 0.3, 1000
    mask = mg.dropout(f64(np.ones((200, units))), p, training=True, rng=4, return_mask=True,
                      shared_axes=(0,))[1]
    kept = mask[0].sum()
    assert abs(kept - units * (1 - p)) <= 5 * math.sqrt(units * p * (1 - p))
    seed = mg.random.draw_seed(4)
    np.testing.assert_array_equal(mask[0], reference.keep_mask(units, seed,
                                                               dispatch.dropout_threshold(p)))


def test_expectation_is_preserved_by_shared_inverted_dropout(backend):
    """Mean over 400 calls of a shared (batch, units) mask: each unit kept ~ Binomial(400, q)/q."""
    p, calls, units = 0.5, 400, 50
    rng = np.random.default_rng(0)
    total = sum(mg.dropout(f64(np.ones((3, units))), p, training=True, rng=rng,
                           shared_axes=(0,)).data for _ in range(calls))
    mean = total / calls
    sd = math.sqrt(p / (1 - p) / calls)  # sd of the mean of m / (1 - p), m ~ Bernoulli(1 - p)
    assert np.all(np.abs(mean - 1) <= 5 * sd)


@pytest.mark.parametrize("kind", sorted(OPS))
def test_gradcheck_with_shared_masks(backend, kind):
    x = f64(np.random.default_rng(2).standard_normal((3, 4, 5)), requires_grad=True)
    assert mg.gradcheck(lambda t: OPS[kind](t, 0.4, training=True, rng=6,
                                            shared_axes=(1,)), x)


@pytest.mark.parametrize("kind", sorted(OPS))
def test_backward_uses_the_broadcast_mask(kind):
    x = f64(np.random.default_rng(3).standard_normal((6, 8)), requires_grad=True)
    y = OPS[kind](x, 0.5, training=True, rng=1, shared_axes=(0,))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, np.broadcast_to(x.grad[0], x.shape))
    if kind == "alpha":
        a, _ = dispatch.alpha_dropout_affine(0.5, ALPHA_PRIME)
        assert set(np.unique(x.grad)) == {0.0, a}


# ---- given masks, last_mask, forward_with_masks, fusion ----------------------------------

def test_last_mask_is_shaped_like_the_input_and_replays():
    layer = nn.Dropout(0.5, rng=0, shared_axes=(1,))
    x = f64(np.random.default_rng(0).standard_normal((4, 10, 6)))
    model = nn.Sequential(layer)
    out, masks = nn.forward_with_masks(model, x)
    assert masks[0].shape == x.shape and masks[0].dtype == bool
    assert (masks[0] == masks[0][:, :1, :]).all()
    again, _ = nn.forward_with_masks(model, x, masks)
    np.testing.assert_array_equal(again.data, out.data)


def test_a_given_mask_must_be_shared_along_the_shared_axes():
    mask = np.ones((2, 3), bool)
    mask[1, 0] = False
    with pytest.raises(ValueError, match="differs along shared_axes"):
        mg.dropout(f64(np.ones((2, 3))), 0.5, training=True, mask=mask, shared_axes=(0,))
    ok = np.broadcast_to(mask[:1], (2, 3))
    y = mg.dropout(f64(np.ones((2, 3))), 0.5, training=True, mask=ok, shared_axes=(0,))
    np.testing.assert_array_equal(y.data, 2.0 * ok)


def test_fuse_leaves_a_dropout_with_shared_axes_unfused():
    model = nn.Sequential(nn.Linear(4, 5, rng=0), nn.ReLU(), nn.Dropout(0.5, shared_axes=(0,)),
                          nn.Linear(5, 3, rng=1), nn.ReLU(), nn.Dropout(0.5))
    fused = nn.fuse(model)
    kinds = [type(m).__name__ for m in fused]
    assert kinds == ["FusedLinear", "Dropout", "FusedLinear"]
    assert fused[0].p == 0.0 and fused[1] is model[2] and fused[2].p == 0.5


@pytest.mark.parametrize("layer", [nn.Dropout, nn.GaussianDropout])
def test_fuse_and_fused_linear_keep_shared_noise_out_of_the_kernel(layer):
    """The fused kernel draws per element: a shared mask (or noise) would be lost."""
    shared = layer(0.5, shared_axes=(0,))
    model = nn.Sequential(nn.Linear(4, 5, rng=0), nn.ReLU(), shared)
    assert [type(m) for m in nn.fuse(model)] == [nn.FusedLinear, layer]
    with pytest.raises(ValueError, match=r"shares it along axes \(0,\)"):
        nn.FusedLinear(nn.Linear(4, 5, rng=0), shared)


# ---- validation ------------------------------------------------------------------------

AXIS = r"\[0\] \(an axis of an input with 2 axes\)"


@pytest.mark.parametrize("axes, error, message", [
    ((2,), ValueError, AXIS + " must be <= 1, got 2"),
    ((-3,), ValueError, AXIS + " must be >= -2, got -3"),
    ((0, 0), ValueError, r" must name each axis once, got \(0, 0\)"),
    ((1, -1), ValueError, r" must name each axis once, got \(1, -1\)"),
    ((0.0,), TypeError, AXIS + " must be an int, got float 0.0"),
    ((True,), TypeError, AXIS + " must be an int, got bool True"),
    ("0", TypeError, " must be an int or a tuple of ints, got str"),
    (None, TypeError, " must be an int or a tuple of ints, got NoneType"),
])
@pytest.mark.parametrize("kind", sorted(OPS))
def test_bad_axes_are_refused_naming_the_op(kind, axes, error, message):
    name = {"dropout": "dropout", "gaussian": "gaussian_dropout", "alpha": "alpha_dropout"}[kind]
    with pytest.raises(error, match=f"^{name}: shared_axes{message}$"):
        OPS[kind](f64(np.ones((2, 3))), 0.5, training=True, rng=0, shared_axes=axes)


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_layers_check_kinds_and_literal_duplicates_at_construction(kind):
    layer = LAYERS[kind]
    with pytest.raises(TypeError, match=f"{layer.__name__}: shared_axes"):
        layer(0.5, shared_axes="1")
    with pytest.raises(ValueError, match="each axis once"):
        layer(0.5, shared_axes=(1, 1))
    late = layer(0.5, shared_axes=(3,))  # the rank is known only at the forward
    with pytest.raises(ValueError, match=r"an axis of an input with 2 axes"):
        late(f64(np.ones((2, 3))))


def test_check_and_shape_helpers():
    assert check_shared_axes("op", 1, 3) == (1,)
    assert check_shared_axes("op", [-1, 0], 3) == (0, 2)
    assert check_shared_axes("op", (), 0) == ()
    assert mask_shape((8, 20, 32), (0, 2)) == (1, 20, 1)


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_layer_repr_shows_shared_axes_only_when_set(kind):
    layer = LAYERS[kind]
    assert "shared_axes=(0, 2)" in repr(layer(0.25, shared_axes=[2, 0]))
    assert "shared_axes" not in repr(layer(0.25))


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_layers_pass_shared_axes_to_the_op(kind):
    x = f64(np.ones((5, 7)))
    out = LAYERS[kind](0.5, rng=3, shared_axes=(0,))(x).data
    np.testing.assert_array_equal(out, noise_of(kind, (5, 7), 0.5, np.random.default_rng(3),
                                                (0,)))
