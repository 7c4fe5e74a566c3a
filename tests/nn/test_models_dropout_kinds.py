"""``dropout_mlp(kind=...)`` and ``TrainConfig.dropout_kind``: which noise the dropout layers get.

Oracles: the layer types and probabilities of the built network, and the gradients of a
Gaussian model equal to those of the same layers assembled by hand with the same seeds.
"""
import numpy as np
import pytest

import minigrad
from minigrad.models import CONCRETE_LENGTH_SCALE, DROPOUT_KINDS, dropout_mlp
from minigrad.nn import (SELU, AlphaDropout, ConcreteDropout, DropConnectLinear, Dropout,
                         FusedLinear, GaussianDropout, Linear, ReLU, Sequential,
                         regularizer_strengths)
from minigrad.training import TrainConfig, build_model, make_generators, train


@pytest.mark.parametrize("fused", [True, False])
def test_gaussian_kind_puts_gaussian_dropout_where_bernoulli_dropout_was(fused):
    model = dropout_mlp(6, (5, 4), 3, p_input=0.2, p_hidden=0.5, kind="gaussian", fused=fused,
                        rng=0, dropout_rng=1)
    noises = [("gaussian", m.p) for m in model if isinstance(m, GaussianDropout)]
    noises += [(m.noise, m.p) for m in model if isinstance(m, FusedLinear)]
    assert sorted(noises) == [("gaussian", 0.2), ("gaussian", 0.5), ("gaussian", 0.5)]
    assert not any(isinstance(m, Dropout) for m in model)
    assert any(isinstance(m, FusedLinear) for m in model) == fused


def test_alpha_kind_builds_a_self_normalising_network():
    model = dropout_mlp(6, (5, 4), 3, p_input=0.05, p_hidden=0.1, kind="alpha",
                        init="lecun_normal", rng=0, dropout_rng=1)
    assert [type(m) for m in model] == [AlphaDropout, Linear, SELU, AlphaDropout, Linear,
                                        SELU, AlphaDropout, Linear]
    assert [m.p for m in model if isinstance(m, AlphaDropout)] == [0.05, 0.1, 0.1]


def test_dropconnect_kind_drops_the_weights_of_every_hidden_layer():
    model = dropout_mlp(6, (5, 4), 3, p_input=0.2, p_hidden=0.5, kind="dropconnect",
                        mode="weight_scaling", rng=0, dropout_rng=1)
    assert [type(m) for m in model] == [Dropout, DropConnectLinear, DropConnectLinear, Linear]
    hidden = list(model)[1:3]
    assert all(m.p == 0.5 and m.activation == "relu" and m.mask == "example"
               and m.mode == "weight_scaling" for m in hidden)
    assert hidden[0].rng is hidden[1].rng is model[0].rng  # the one dropout stream
    plain = dropout_mlp(6, (5, 4), 3, p_input=0.2, p_hidden=0.5, rng=0, fused=False)
    for mine, theirs in zip([m for m in model if isinstance(m, Linear)],
                            [m for m in plain if isinstance(m, Linear)]):
        np.testing.assert_array_equal(mine.weight.data, theirs.weight.data)  # same init


def test_concrete_kind_wraps_every_linear_with_its_starting_rate_and_the_papers_strengths():
    model = dropout_mlp(6, (5, 4), 3, p_input=0.2, p_hidden=0.5, kind="concrete", n_train=600,
                        rng=0, dropout_rng=1)
    assert [type(m) for m in model] == [ConcreteDropout, ReLU, ConcreteDropout, ReLU,
                                        ConcreteDropout]
    assert [round(m.p, 6) for m in model if isinstance(m, ConcreteDropout)] == [0.2, 0.5, 0.5]
    wd, dd = regularizer_strengths(600, CONCRETE_LENGTH_SCALE)
    assert all((m.weight_regularizer, m.dropout_regularizer) == (wd, dd)
               for m in model if isinstance(m, ConcreteDropout))
    with pytest.raises(ValueError, match="n_train"):
        dropout_mlp(6, (5,), 3, kind="concrete")


def test_training_with_concrete_dropout_learns_the_rates_and_resumes_bit_for_bit(tmp_path):
    """The regulariser is in the loss (the rates move); a resumed run continues exactly."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 6)).astype(np.float32)
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0)
    data = (x[:200], y[:200], x[200:], y[200:])
    config = TrainConfig(hidden=(16,), dropout_kind="concrete", epochs=3, lr=0.05,
                         momentum_epochs=0, batch_size=20, seed=4)
    model, history = train(config, data)
    rates = [m.p for m in model if isinstance(m, ConcreteDropout)]
    assert len(rates) == 2 and all(0 < p < 1 for p in rates) and rates != [0.2, 0.5]
    path = tmp_path / "run.npz"
    train(TrainConfig(**{**config.to_dict(), "epochs": 1}), data, checkpoint=path)
    resumed, again = train(config, data, resume=path)
    assert [r["train_loss"] for r in again] == [r["train_loss"] for r in history]
    for a, b in zip(model.parameters(), resumed.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_a_zero_probability_leaves_the_layer_out_for_every_kind():
    for kind in DROPOUT_KINDS:
        model = dropout_mlp(6, (5,), 3, p_input=0.0, p_hidden=0.0, kind=kind, fused=False,
                            n_train=10)
        activation = SELU if kind == "alpha" else ReLU  # dropconnect with p = 0: Linear
        assert [type(m) for m in model] == [Linear, activation, Linear]


def test_the_gaussian_model_is_the_hand_built_network():
    """Same init and dropout seeds: the same forward, bit for bit."""
    model = dropout_mlp(6, (5,), 3, p_input=0.2, p_hidden=0.5, kind="gaussian", fused=False,
                        rng=0, dropout_rng=1, max_norm=None)
    rng, noise = np.random.default_rng(0), np.random.default_rng(1)
    by_hand = Sequential(GaussianDropout(0.2, rng=noise), Linear(6, 5, init="he", rng=rng),
                         ReLU(), GaussianDropout(0.5, rng=noise), Linear(5, 3, init="he", rng=rng))
    x = minigrad.tensor(np.random.default_rng(2).standard_normal((4, 6)).astype(np.float32))
    np.testing.assert_array_equal(model(x).data, by_hand(x).data)


@pytest.mark.parametrize("kind", ["gaussian", "alpha", "concrete"])
def test_mean_keeping_noises_refuse_the_weight_scaling_rule(kind):
    with pytest.raises(ValueError, match="mode must be 'inverted'"):
        dropout_mlp(6, (5,), 3, kind=kind, mode="weight_scaling", n_train=10)
    with pytest.raises(ValueError, match="dropout_mode must be 'inverted'"):
        TrainConfig(dropout_kind=kind, dropout_mode="weight_scaling")


def test_an_unknown_kind_is_refused_naming_the_choices():
    with pytest.raises(ValueError, match="bernoulli"):
        dropout_mlp(6, (5,), 3, kind="uniform")
    with pytest.raises(ValueError, match="kind"):
        dropout_mlp(6, (5,), 3, kind=1)


def test_train_config_builds_the_kind_it_names():
    config = TrainConfig(hidden=(5,), dropout_kind="gaussian")
    init_rng, dropout_rng, _ = make_generators(0)
    model = build_model(config, 6, 3, init_rng, dropout_rng)
    assert [type(m) for m in model] == [GaussianDropout, FusedLinear, Linear]
    assert model[1].noise == "gaussian"
