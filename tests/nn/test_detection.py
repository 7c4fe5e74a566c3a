"""``nn.auroc``: against the definition, every pair compared, and its edge cases."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad import nn

SCORES = st.lists(st.integers(-3, 3) | st.floats(-2, 2), min_size=1, max_size=12)


def pairwise(s_in, s_out):
    """P(s_out > s_in) + P(s_out == s_in) / 2 over all n_in * n_out pairs."""
    return np.mean([(o > i) + 0.5 * (o == i) for i in s_in for o in s_out])


@given(SCORES, SCORES)
def test_equals_the_pairwise_definition(s_in, s_out):
    """Integers make ties common: their half counts are where rank formulas go wrong."""
    assert nn.auroc(s_in, s_out) == pytest.approx(pairwise(s_in, s_out), abs=1e-12)


def test_perfect_reversed_and_indistinguishable_scores():
    assert nn.auroc([0, 1], [2, 3]) == 1.0
    assert nn.auroc([2, 3], [0, 1]) == 0.0
    assert nn.auroc([5, 5, 5], [5, 5]) == 0.5


def test_swapping_the_sets_gives_one_minus_the_area():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 50), rng.normal(1, 1, 70)
    assert nn.auroc(a, b) == pytest.approx(1 - nn.auroc(b, a), abs=1e-12)


def test_two_normals_give_the_binormal_area():
    """For N(0,1) against N(d,1) the AUROC is Phi(d / sqrt 2) (0.760 at d = 1).

    With 20000 scores per set the estimate's standard error is below 0.003
    (Hanley & McNeil's bound sqrt(A(1-A)/min(n)) ~ 0.003); 5 of them: 0.015.
    """
    rng = np.random.default_rng(1)
    area = nn.auroc(rng.normal(0, 1, 20_000), rng.normal(1, 1, 20_000))
    assert area == pytest.approx(0.7602499, abs=0.015)


@pytest.mark.parametrize("bad, exc, words", [
    ([], ValueError, "non-empty"), ([[1.0]], ValueError, "1-D"),
    ([1.0, np.nan], ValueError, "finite"), (["a"], TypeError, "real numbers")])
def test_bad_scores_are_refused_naming_the_argument(bad, exc, words):
    with pytest.raises(exc, match=words):
        nn.auroc([0.5], bad)
    with pytest.raises(exc, match="in_distribution"):
        nn.auroc(bad, [0.5])
