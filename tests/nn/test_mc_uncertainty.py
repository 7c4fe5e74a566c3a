"""MC-dropout uncertainty: class probabilities per pass, their measures, consistent masks.

Oracles: hand-computed entropies on tiny arrays, the bounds 0 <= BALD <= H[p̄] <= log C on
hypothesis-drawn distributions, bit-identical fused and unfused models, and, for
consistent masks, each input run alone from the same Generator state.
"""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad import nn
from minigrad.ops.softmax import stable_log_softmax

MEASURES = [nn.predictive_mean, nn.predictive_entropy, nn.expected_entropy,
            nn.mutual_information, nn.variation_ratio]


def classifier(seed=0, library_rng=False):
    """6-8-8-3 dropout MLP in eval mode; its Dropout layers have their own Generators
    seeded from ``seed``, or share the library's (``library_rng``)."""
    def rng(offset):
        return None if library_rng else seed + offset

    return nn.Sequential(nn.Dropout(0.2, rng=rng(0)), nn.Linear(6, 8, rng=seed), nn.ReLU(),
                         nn.Dropout(0.5, rng=rng(1)), nn.Linear(8, 8, rng=seed + 2),
                         nn.ReLU(), nn.Linear(8, 3, rng=seed + 3)).eval()


def inputs(n=5, seed=1):
    return minigrad.tensor(np.random.default_rng(seed).standard_normal((n, 6)).astype(np.float32))


def h(*p):
    """Hand entropy in nats, 0 log 0 = 0."""
    return -sum(q * math.log(q) for q in p if q > 0)


# ---- hand-computed values ---------------------------------------------------------------
def test_uniform_passes_have_entropy_log_c_and_no_disagreement():
    probs = np.full((3, 2, 4), 0.25)
    np.testing.assert_allclose(nn.predictive_entropy(probs), math.log(4), rtol=1e-15)
    np.testing.assert_allclose(nn.expected_entropy(probs), math.log(4), rtol=1e-15)
    np.testing.assert_array_equal(nn.mutual_information(probs), 0.0)
    np.testing.assert_array_equal(nn.variation_ratio(probs), 0.0)  # ties: class 0 every pass


def test_one_hot_agreement_is_certain():
    probs = np.array([[[0, 1, 0]], [[0, 1, 0]], [[0, 1, 0]]])  # ints are real numbers too
    np.testing.assert_array_equal(nn.predictive_mean(probs), [[0, 1, 0]])
    for measure in MEASURES[1:]:
        np.testing.assert_array_equal(measure(probs), [0.0])


def test_two_one_hot_passes_disagreeing_give_bald_log_2():
    probs = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    np.testing.assert_array_equal(nn.predictive_mean(probs), [[0.5, 0.5]])
    np.testing.assert_array_equal(nn.expected_entropy(probs), [0.0])
    np.testing.assert_allclose(nn.predictive_entropy(probs), [math.log(2)], rtol=1e-15)
    np.testing.assert_allclose(nn.mutual_information(probs), [math.log(2)], rtol=1e-15)
    np.testing.assert_array_equal(nn.variation_ratio(probs), [0.5])


def test_mixed_passes_by_hand():
    # passes (0.9, 0.1) and (0.5, 0.5): mean (0.7, 0.3); E H = (h(0.9, 0.1) + log 2) / 2
    probs = np.array([[[0.9, 0.1]], [[0.5, 0.5]]])
    np.testing.assert_allclose(nn.predictive_entropy(probs), [h(0.7, 0.3)], rtol=1e-14)
    expected = (h(0.9, 0.1) + math.log(2)) / 2
    np.testing.assert_allclose(nn.expected_entropy(probs), [expected], rtol=1e-14)
    np.testing.assert_allclose(nn.mutual_information(probs), [h(0.7, 0.3) - expected],
                               rtol=1e-12)


def test_variation_ratio_counts_the_modal_class():
    # votes over k = 4 passes: input 0 -> 0, 0, 1, 2 (mode 0 twice); input 1 -> 2, 2, 2, 1
    votes = np.array([[0, 2], [0, 2], [1, 2], [2, 1]])
    probs = np.eye(3)[votes] * 0.5 + 0.5 / 3
    np.testing.assert_array_equal(nn.variation_ratio(probs), [1 - 2 / 4, 1 - 3 / 4])


# ---- properties on drawn distributions -------------------------------------------------
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(1, 6), n=st.integers(1, 5),
       c=st.integers(1, 6), sharpness=st.sampled_from([0.05, 1.0, 20.0]))
def test_bounds_and_invariance_to_the_order_of_passes(seed, k, n, c, sharpness):
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.full(c, sharpness), size=(k, n))
    total, bald = nn.predictive_entropy(probs), nn.mutual_information(probs)
    assert np.all(bald >= 0) and np.all(bald <= total)
    assert np.all(nn.expected_entropy(probs) >= 0)
    assert np.all(total <= math.log(c) + 1e-12)
    assert np.all((nn.variation_ratio(probs) >= 0) & (nn.variation_ratio(probs) <= 1 - 1 / k))
    shuffled = probs[rng.permutation(k)]
    for measure in MEASURES[:-1]:
        np.testing.assert_allclose(measure(shuffled), measure(probs), rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(nn.variation_ratio(shuffled), nn.variation_ratio(probs))


# ---- the passes of a model -------------------------------------------------------------
def test_model_without_dropout_has_bald_exactly_zero():
    model = nn.Sequential(nn.Linear(6, 8, rng=0), nn.ReLU(), nn.Linear(8, 3, rng=1)).eval()
    x = inputs()
    probs = nn.mc_class_probabilities(model, x, samples=7)
    softmax = np.exp(stable_log_softmax(model(x).data.astype(np.float64), axis=-1))
    np.testing.assert_allclose(nn.predictive_mean(probs), softmax, rtol=1e-6)
    np.testing.assert_array_equal(nn.predictive_mean(probs),  # the mean of equal passes
                                  probs[0] / probs[0].sum(axis=-1, keepdims=True, dtype=float))
    np.testing.assert_array_equal(nn.mutual_information(probs), 0.0)
    np.testing.assert_array_equal(nn.variation_ratio(probs), 0.0)
    np.testing.assert_array_equal(nn.predictive_entropy(probs), nn.expected_entropy(probs))


def test_probabilities_are_the_softmax_of_each_pass_and_modes_are_restored():
    model, x = classifier(), inputs()
    probs = nn.mc_class_probabilities(model, x, samples=4)
    assert probs.shape == (4, 5, 3) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0, rtol=1e-6)
    assert not any(m.training for m in model.modules())
    replay = classifier()  # the same Generators, so the same passes
    for layer in replay.modules():
        if isinstance(layer, nn.Dropout):
            layer.train()
    for pass_probs in probs:
        np.testing.assert_array_equal(pass_probs, minigrad.softmax(replay(x)).data)


def test_every_stochastic_layer_is_switched_on_and_only_those():
    """Gaussian dropout is noise too; a layer that is not (Linear) keeps its eval mode."""
    model = nn.Sequential(nn.Linear(6, 8, rng=0), nn.ReLU(), nn.GaussianDropout(0.5, rng=1),
                          nn.Linear(8, 3, rng=2)).eval()
    seen = []
    model[3].forward = lambda x, f=model[3].forward: seen.append(model[3].training) or f(x)
    probs = nn.mc_class_probabilities(model, inputs(), samples=3)
    assert not np.array_equal(probs[0], probs[1])  # the passes differ: the noise was on
    assert seen == [False] * 3 and not any(m.training for m in model.modules())
    stochastic = {type(m).__name__ for m in model.modules() if m.stochastic}
    assert stochastic == {"GaussianDropout"}


@pytest.mark.parametrize("consistent", [False, True])
def test_fused_and_unfused_models_agree_bit_for_bit(consistent):
    x = inputs()
    results = [nn.mc_class_probabilities(form(classifier(seed=3)), x, samples=6,
                                         consistent_masks=consistent)
               for form in (lambda m: m, nn.fuse)]
    assert any(isinstance(m, nn.FusedLinear) for m in nn.fuse(classifier()).modules())
    np.testing.assert_array_equal(*results)
    for measure in MEASURES:
        np.testing.assert_array_equal(measure(results[0]), measure(results[1]))
    assert nn.mutual_information(results[0]).max() > 0  # the passes did differ


def test_the_generator_seeds_decide_the_passes():
    x = inputs()
    a, b, c = (nn.mc_class_probabilities(classifier(seed=s), x, samples=5) for s in (4, 4, 5))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    runs = []
    for _ in range(2):
        minigrad.manual_seed(11)
        runs.append(nn.mc_class_probabilities(classifier(library_rng=True), x, samples=5))
    np.testing.assert_array_equal(*runs)


# ---- consistent masks ------------------------------------------------------------------
def twin_inputs():
    """Five inputs, the first two identical."""
    x = inputs().data.copy()
    x[1] = x[0]
    return minigrad.tensor(x)


@pytest.mark.parametrize("library_rng", [False, True])
@pytest.mark.parametrize("fuse", [False, True])
def test_consistent_masks_give_identical_inputs_identical_passes(fuse, library_rng):
    x = twin_inputs()
    probs = {}
    for consistent in (False, True):
        minigrad.manual_seed(5)
        model = classifier(seed=2, library_rng=library_rng)
        probs[consistent] = nn.mc_class_probabilities(nn.fuse(model) if fuse else model, x,
                                                      samples=8, consistent_masks=consistent)
    np.testing.assert_array_equal(probs[True][:, 0], probs[True][:, 1])
    assert not np.array_equal(probs[False][:, 0], probs[False][:, 1])
    # input 0 draws the seeds the whole batch draws without consistent masks, and each
    # pass leaves the Generators where a whole-batch pass does: input 0 agrees in every
    # pass. Bit for bit with minigrad's GEMM, whose rows do not depend on the batch;
    # numpy's BLAS (the numpy backend) may round a one-row product differently.
    if minigrad.get_matmul() == "minigrad" and minigrad.get_backend() == "compiled":
        np.testing.assert_array_equal(probs[True][:, 0], probs[False][:, 0])
    else:
        np.testing.assert_allclose(probs[True][:, 0], probs[False][:, 0], rtol=1e-6)


def test_consistent_masks_run_each_input_through_the_pass_network():
    """Oracle: every input alone, each from the Generator state at the start of the pass."""
    x = twin_inputs()
    probs = nn.mc_class_probabilities(classifier(seed=6), x, samples=3, consistent_masks=True)
    replay = classifier(seed=6)
    dropouts = [m for m in replay.modules() if isinstance(m, nn.Dropout)]
    for layer in dropouts:
        layer.train()
    for pass_probs in probs:
        start = [layer.rng.bit_generator.state for layer in dropouts]
        for i in range(len(x)):
            for layer, state in zip(dropouts, start):
                layer.rng.bit_generator.state = state
            alone = minigrad.softmax(replay(minigrad.tensor(x.data[i:i + 1]))).data
            np.testing.assert_array_equal(pass_probs[i:i + 1], alone)
    assert len({pass_probs[2].tobytes() for pass_probs in probs}) == 3  # fresh mask per pass


def test_consistent_masks_with_one_input_is_the_plain_pass():
    x = minigrad.tensor(inputs().data[:1])
    a, b = (nn.mc_class_probabilities(classifier(), x, samples=4, consistent_masks=c)
            for c in (False, True))
    np.testing.assert_array_equal(a, b)


# ---- bad input -------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_bad_samples(bad):
    with pytest.raises(ValueError, match="mc_class_probabilities: samples must be"):
        nn.mc_class_probabilities(classifier(), inputs(), samples=bad)


@pytest.mark.parametrize("bad", [1, 0, "yes", None])
def test_consistent_masks_must_be_a_bool(bad):
    with pytest.raises(TypeError, match="consistent_masks must be a bool"):
        nn.mc_class_probabilities(classifier(), inputs(), samples=2, consistent_masks=bad)


def test_consistent_masks_need_a_tensor():
    with pytest.raises(TypeError, match="x must be a minigrad Tensor"):
        nn.mc_class_probabilities(classifier(), inputs().data, samples=2, consistent_masks=True)


def test_modes_restored_when_the_model_raises():
    model = classifier()
    with pytest.raises(TypeError):
        nn.mc_class_probabilities(model, minigrad.tensor(np.ones((2, 6))), samples=2,
                                  consistent_masks=True)  # float64 input, float32 weights
    assert not any(m.training for m in model.modules())


GOOD = np.full((2, 3, 4), 0.25)


@pytest.mark.parametrize("measure", MEASURES)
@pytest.mark.parametrize("bad, error, message", [
    (GOOD[0], ValueError, r"\(k, N, C\) array .* got shape \(3, 4\)"),
    (GOOD[None], ValueError, r"\(k, N, C\) array"),
    (GOOD[:0], ValueError, "k >= 1 passes"),
    (GOOD[..., :0], ValueError, "C >= 1 classes"),
    (GOOD * 0.9, ValueError, "sum to 1 over the classes .* got 0.9 at pass 0, input 0"),
    (np.where(np.arange(4) == 3, -0.25, 0.5) * np.ones((2, 3, 1)), ValueError, ">= 0"),
    (np.where(np.arange(4) == 3, np.nan, 0.25) * np.ones((2, 3, 1)), ValueError, "finite"),
    (GOOD > 0, TypeError, "real numbers, got dtype bool"),
    ([[["a"]]], TypeError, "real numbers"),
])
def test_bad_probabilities(measure, bad, error, message):
    with pytest.raises(error, match=f"{measure.__name__}: probs must .*{message}"):
        measure(bad)


def test_probabilities_within_tolerance_are_accepted_and_renormalised():
    probs = np.array([[[0.5, 0.5 + 5e-5]]])
    assert nn.mutual_information(probs) == 0.0
    np.testing.assert_allclose(nn.predictive_mean(probs).sum(), 1.0, rtol=1e-15)
