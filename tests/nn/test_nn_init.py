"""minigrad.nn.init: every initialiser against the distribution its paper names.

Oracles, all at fixed seeds, each check failing with probability below about 1e-9 (or
1e-6 for the KS tests) if the draws really come from the stated distribution:

* the distributions written out again here from the papers' formulas (``EXPECTED``),
  not read from the module under test;
* uniform draws lie within the bound and come near it: for n draws of U(-a, a),
  ``P(max |w| < a q) = q**n``, so ``q = ALPHA**(1/n)`` fails with probability ALPHA;
* the sample mean and second moment within 6 standard errors (the second moment's from
  the fourth moment: ``Var(w**2) = mu4 - sigma**4``, ``mu4 = 3 sigma**4`` for a normal,
  ``a**4 / 5`` for U(-a, a));
* the Kolmogorov-Smirnov distance to the analytic CDF, and (where PyTorch is
  installed) to a sample drawn by ``torch.nn.init``, below the KS quantile at 1e-6;
* bit-for-bit replays of the formula minigrad used before these names existed.
"""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad.nn.init import INITS, init_linear

ALPHA = 1e-9          # failure probability of a bound / near-bound check
KS_ALPHA = 1e-6       # significance of a KS test
SE = 6                # standard errors allowed for a mean or a second moment (~2e-9)
INIT_STD = 0.05       # a non-default init_std, so that the test sees it is used
#: (fan_in, fan_out): fan_in = 1, fan_out = 1, and non-square layers
SHAPES = [(1, 4096), (4096, 1), (300, 700), (784, 10)]
ALIASES = {"he": "he_normal", "xavier_uniform": "glorot_uniform",
           "xavier_normal": "glorot_normal"}


def expected(init, fan_in, fan_out):
    """``(kind, spread)``: "uniform" with bound a of U(-a, a), or "normal" with its std."""
    return {
        "torch": ("uniform", 1 / math.sqrt(fan_in)),           # kaiming_uniform_(a=sqrt(5))
        "glorot_uniform": ("uniform", math.sqrt(6 / (fan_in + fan_out))),
        "glorot_normal": ("normal", math.sqrt(2 / (fan_in + fan_out))),
        "lecun_normal": ("normal", math.sqrt(1 / fan_in)),
        "he_normal": ("normal", math.sqrt(2 / fan_in)),
        "he_uniform": ("uniform", math.sqrt(6 / fan_in)),
        "gaussian": ("normal", INIT_STD),
    }[init]


CANONICAL = ["torch", "glorot_uniform", "glorot_normal", "lecun_normal", "he_normal",
             "he_uniform", "gaussian"]


# ---- the statistics -------------------------------------------------------------------
def ks_quantile(alpha):
    """t with P(sqrt(n) D_n > t) = alpha under the Kolmogorov distribution.

    Its tail is ``2 sum_k (-1)**(k-1) exp(-2 k**2 t**2)``; at alpha = 1e-6 every term
    after the first is below 1e-24, so ``t = sqrt(ln(2 / alpha) / 2)``. For one sample
    this is also the Dvoretzky-Kiefer-Wolfowitz-Massart bound, exact for every n.
    """
    return math.sqrt(math.log(2 / alpha) / 2)


def normal_cdf(x, std):
    return 0.5 * (1 + np.vectorize(math.erf)(np.asarray(x) / (std * math.sqrt(2))))


def cdf(kind, spread, x):
    if kind == "uniform":
        return np.clip((x + spread) / (2 * spread), 0, 1)
    return normal_cdf(x, spread)


def ks_one_sample(sample, kind, spread):
    """sup |F_n - F| over the sorted sample (the sup is attained at a sample point)."""
    x = np.sort(sample)
    n = len(x)
    f = cdf(kind, spread, x)
    return max(np.max(np.arange(1, n + 1) / n - f), np.max(f - np.arange(n) / n))


def ks_two_sample(a, b):
    """sup |F_a - F_b|, both empirical CDFs evaluated at every point of either sample."""
    a, b = np.sort(a), np.sort(b)
    points = np.concatenate([a, b])
    fa = np.searchsorted(a, points, side="right") / len(a)
    fb = np.searchsorted(b, points, side="right") / len(b)
    return np.max(np.abs(fa - fb))


def check_distribution(sample, kind, spread, what):
    """The sample (any shape, float32/float64) is drawn from ``kind(spread)``."""
    dtype = sample.dtype
    w = sample.astype(np.float64).ravel()
    n = len(w)
    if kind == "uniform":
        # rounding to the dtype is monotonic: x <= a implies fl(x) <= fl(a)
        assert np.abs(w).max() <= dtype.type(spread), what
        near = spread * ALPHA ** (1 / n) * (1 - np.finfo(dtype).eps)
        assert np.abs(w).max() >= near, (what, np.abs(w).max(), near)
        sigma2, mu4 = spread ** 2 / 3, spread ** 4 / 5
    else:
        sigma2, mu4 = spread ** 2, 3 * spread ** 4
    assert abs(w.mean()) <= SE * math.sqrt(sigma2 / n), (what, w.mean())
    second = np.mean(w ** 2)
    assert abs(second - sigma2) <= SE * math.sqrt((mu4 - sigma2 ** 2) / n), (
        what, second, sigma2)
    assert ks_one_sample(w, kind, spread) <= ks_quantile(KS_ALPHA) / math.sqrt(n), what


# ---- every initialiser: its weights and biases ----------------------------------------
def test_inits_lists_every_name_once():
    assert sorted(INITS) == sorted(CANONICAL + list(ALIASES))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("init", CANONICAL)
def test_weights_follow_the_named_distribution(init, shape, dtype):
    weight, bias = init_linear(init, *shape, rng=11, dtype=dtype, init_std=INIT_STD)
    assert weight.shape == shape and weight.dtype == dtype
    assert bias.shape == (shape[1],) and bias.dtype == dtype
    check_distribution(weight, *expected(init, *shape), what=(init, shape, dtype))


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("init", CANONICAL)
def test_biases_are_zero_except_torch_which_draws_them_like_its_weight(init, shape):
    _, bias = init_linear(init, *shape, rng=12, init_std=INIT_STD)
    if init == "torch":  # nn.Linear.reset_parameters: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
        check_distribution(bias, "uniform", 1 / math.sqrt(shape[0]), what="bias")
    else:
        np.testing.assert_array_equal(bias, np.zeros(shape[1], np.float32))


def test_torch_draws_the_weight_then_the_bias_from_the_one_generator():
    bound = 1 / math.sqrt(5)
    replay = np.random.default_rng(3)
    w = replay.uniform(-bound, bound, size=(5, 4))
    b = replay.uniform(-bound, bound, size=4)
    rng = np.random.default_rng(3)
    weight, bias = init_linear("torch", 5, 4, rng=rng, dtype=np.float64)
    np.testing.assert_array_equal(weight, w)
    np.testing.assert_array_equal(bias, b)
    assert rng.random() == replay.random()  # nothing else was drawn
    rng = np.random.default_rng(3)
    weight, bias = init_linear("torch", 5, 4, rng=rng, dtype=np.float64, bias=False)
    assert bias is None  # no bias: no bias draw either
    np.testing.assert_array_equal(weight, w)
    replay = np.random.default_rng(3)
    replay.uniform(size=(5, 4))
    assert rng.random() == replay.random()


@pytest.mark.parametrize("alias", sorted(ALIASES))
def test_aliases_draw_exactly_what_their_names_draw(alias):
    for dtype in (np.float32, np.float64):
        a = init_linear(alias, 30, 20, rng=4, dtype=dtype)
        b = init_linear(ALIASES[alias], 30, 20, rng=4, dtype=dtype)
        for x, y in zip(a, b):
            assert x.tobytes() == y.tobytes()


@given(seed=st.integers(0, 2**32 - 1), fan_in=st.integers(1, 40), fan_out=st.integers(1, 40),
       dtype=st.sampled_from([np.float32, np.float64]), std=st.floats(1e-6, 10.0))
def test_he_and_gaussian_replay_the_formula_of_earlier_minigrad_bit_for_bit(
        seed, fan_in, fan_out, dtype, std):
    """Recorded results depend on it: one ``rng.normal`` call, cast; zero biases."""
    he = np.random.default_rng(seed).normal(0.0, math.sqrt(2.0 / fan_in), size=(fan_in, fan_out))
    for init in ("he", "he_normal"):
        weight, bias = init_linear(init, fan_in, fan_out, rng=seed, dtype=dtype, init_std=std)
        assert weight.tobytes() == he.astype(dtype).tobytes()
        assert bias.tobytes() == np.zeros(fan_out, dtype).tobytes()
    small = np.random.default_rng(seed).normal(0.0, std, size=(fan_in, fan_out))
    weight, _ = init_linear("gaussian", fan_in, fan_out, rng=seed, dtype=dtype, init_std=std)
    assert weight.tobytes() == small.astype(dtype).tobytes()


def test_rng_none_uses_the_library_generator():
    import minigrad
    minigrad.manual_seed(8)
    first = init_linear("torch", 6, 2)
    minigrad.manual_seed(8)
    again = init_linear("torch", 6, 2)
    for x, y in zip(first, again):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("kwargs, error, words", [
    ({"init": "xavier"}, ValueError, ["init must be one of", "'xavier'", *INITS]),
    ({"init": None}, ValueError, ["init must be one of", "None"]),
    ({"init": "He"}, ValueError, ["init must be one of", "'He'"]),
    ({"in_features": 0}, ValueError, ["in_features must be >= 1, got 0"]),
    ({"out_features": 2.0}, ValueError, ["out_features must be an int, got float 2.0"]),
    ({"init_std": float("nan")}, ValueError, ["init_std must be a positive finite", "nan"]),
    ({"init_std": float("inf")}, ValueError, ["init_std must be a positive finite", "inf"]),
    ({"init_std": -float("inf")}, ValueError, ["init_std must be a positive finite"]),
    ({"init_std": 0}, ValueError, ["init_std must be a positive finite", "got 0"]),
    ({"init_std": -0.01}, ValueError, ["init_std must be a positive finite", "-0.01"]),
    ({"init_std": "0.01"}, TypeError, ["init_std must be a real number", "str"]),
    ({"init_std": True}, TypeError, ["init_std must be a real number", "bool"]),
    ({"init_std": None}, TypeError, ["init_std must be a real number", "NoneType"]),
    ({"dtype": np.int32}, TypeError, ["dtype must be float32 or float64", "int32"]),
    ({"dtype": np.float16}, TypeError, ["float16"]),
    ({"rng": "seed"}, TypeError, ["rng"]),
])
def test_bad_arguments_name_the_argument_and_the_value(kwargs, error, words):
    args = {"init": "torch", "in_features": 3, "out_features": 2, **kwargs}
    with pytest.raises(error) as info:
        init_linear(**args)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_init_std_is_checked_whatever_the_init():
    """A NaN std must not hide behind an init that ignores it (it would surface later)."""
    for init in INITS:
        with pytest.raises(ValueError, match="init_std"):
            init_linear(init, 3, 2, rng=0, init_std=float("nan"))


# ---- against PyTorch ------------------------------------------------------------------
def torch_weights(init, fan_in, fan_out, seed):
    """PyTorch's draw of the same init, as float64 in minigrad's (in, out) layout, and its bias.

    PyTorch weights are (out, in) and torch.nn.init takes fan_in = size(1) = in_features.
    """
    torch = pytest.importorskip("torch")
    torch.manual_seed(seed)
    if init == "torch":
        layer = torch.nn.Linear(fan_in, fan_out, dtype=torch.float64)
        return layer.weight.detach().numpy().T, layer.bias.detach().numpy()
    w = torch.empty(fan_out, fan_in, dtype=torch.float64)
    draw = {
        "glorot_uniform": lambda: torch.nn.init.xavier_uniform_(w),
        "glorot_normal": lambda: torch.nn.init.xavier_normal_(w),
        "lecun_normal": lambda: torch.nn.init.kaiming_normal_(w, nonlinearity="linear"),
        "he_normal": lambda: torch.nn.init.kaiming_normal_(w),       # a=0, fan_in: gain sqrt(2)
        "he_uniform": lambda: torch.nn.init.kaiming_uniform_(w, a=0),
        "gaussian": lambda: torch.nn.init.normal_(w, std=INIT_STD),
    }[init]
    draw()
    return w.numpy().T, None


@pytest.mark.parametrize("shape", [(1, 4096), (300, 700), (784, 10)],
                         ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("init", CANONICAL)
def test_same_distribution_as_pytorch(init, shape):
    theirs, their_bias = torch_weights(init, *shape, seed=21)
    ours, our_bias = init_linear(init, *shape, rng=21, dtype=np.float64, init_std=INIT_STD)
    assert theirs.shape == ours.shape == shape
    kind, spread = expected(init, *shape)
    check_distribution(theirs, kind, spread, what=("torch", init, shape))
    check_distribution(ours, kind, spread, what=("minigrad", init, shape))
    n = m = theirs.size
    assert ks_two_sample(ours.ravel(), theirs.ravel()) <= (
        ks_quantile(KS_ALPHA) * math.sqrt((n + m) / (n * m)))
    if init == "torch":
        bound = 1 / math.sqrt(shape[0])
        check_distribution(their_bias, "uniform", bound, what="torch bias")
        n = m = their_bias.size
        assert ks_two_sample(our_bias, their_bias) <= (
            ks_quantile(KS_ALPHA) * math.sqrt((n + m) / (n * m)))


# ---- Linear, dropout_mlp and TrainConfig ----------------------------------------------
def test_linear_default_is_pytorchs_init_with_its_bias():
    from minigrad.nn import Linear
    layer = Linear(5, 3, rng=7)
    weight, bias = init_linear("torch", 5, 3, rng=7)
    np.testing.assert_array_equal(layer.weight.data, weight)
    np.testing.assert_array_equal(layer.bias.data, bias)
    assert layer.bias.data.any()  # no longer zero
    no_bias = Linear(5, 3, bias=False, rng=7)
    assert no_bias.bias is None
    np.testing.assert_array_equal(no_bias.weight.data, weight)


@pytest.mark.parametrize("init", INITS)
def test_linear_takes_every_init(init):
    from minigrad.nn import Linear
    layer = Linear(6, 4, init=init, init_std=INIT_STD, rng=2, dtype=np.float64)
    weight, bias = init_linear(init, 6, 4, rng=2, dtype=np.float64, init_std=INIT_STD)
    assert layer.weight.data.tobytes() == weight.tobytes()
    assert layer.bias.data.tobytes() == bias.tobytes()


@pytest.mark.parametrize("kwargs, error, match", [
    ({"init": "xavier"}, ValueError, "init must be one of .*'torch'.*'gaussian'.*got 'xavier'"),
    ({"init_std": float("nan")}, ValueError, "init_std must be a positive finite number, got nan"),
    ({"init": "gaussian", "init_std": float("inf")}, ValueError, "init_std must be a positive"),
    ({"init": "gaussian", "init_std": 0.0}, ValueError, "init_std must be a positive"),
    ({"init": "gaussian", "init_std": -1}, ValueError, "init_std must be a positive"),
    ({"init": "gaussian", "init_std": "big"}, TypeError, "init_std must be a real number"),
])
def test_linear_validates_init_and_init_std(kwargs, error, match):
    from minigrad.nn import Linear
    with pytest.raises(error, match=match):
        Linear(3, 2, **kwargs)


def test_dropout_mlp_and_train_config_keep_he_normal():
    """The measured recipe: both still draw He-normal, bit for bit as before, biases zero."""
    from minigrad.models import dropout_mlp
    from minigrad.nn import Linear
    from minigrad.training import TrainConfig, build_model, make_generators

    def he_layers(seed, sizes):
        rng = np.random.default_rng(seed)
        return [rng.normal(0.0, math.sqrt(2.0 / a), size=(a, b)).astype(np.float32)
                for a, b in zip(sizes[:-1], sizes[1:])]

    def linears(model):
        return [m for m in model if isinstance(m, Linear)]

    model = dropout_mlp(7, (5, 4), 3, rng=9)
    for layer, w in zip(linears(model), he_layers(9, (7, 5, 4, 3)), strict=True):
        assert layer.weight.data.tobytes() == w.tobytes()
        assert not layer.bias.data.any()
    assert TrainConfig().init == "he"
    init_rng, dropout_rng, _ = make_generators(0)
    model = build_model(TrainConfig(hidden=(5,)), 7, 3, init_rng, dropout_rng)
    seed = np.random.SeedSequence(0).spawn(3)[0]
    for layer, w in zip(linears(model), he_layers(seed, (7, 5, 3)), strict=True):
        assert layer.weight.data.tobytes() == w.tobytes()


@pytest.mark.parametrize("init", INITS)
def test_train_config_accepts_every_name_and_builds_with_it(init):
    from minigrad.nn import Linear
    from minigrad.training import TrainConfig, build_model
    config = TrainConfig(hidden=(4,), init=init)
    assert config.init == init and TrainConfig.from_dict(config.to_dict()) == config
    model = build_model(config, 6, 3, np.random.default_rng(1), np.random.default_rng(2))
    first = next(m for m in model if isinstance(m, Linear))
    np.testing.assert_array_equal(first.weight.data, init_linear(init, 6, 4, rng=1)[0])


@pytest.mark.parametrize("init", ["xavier", "", None, "HE"])
def test_train_config_rejects_a_bad_init_naming_the_field(init):
    from minigrad.training import TrainConfig
    with pytest.raises(ValueError) as info:
        TrainConfig(init=init)
    message = str(info.value)
    assert message.startswith("init must be one of") and repr(init) in message
    assert all(repr(name) in message for name in INITS)


# ---- minigrad train --init ------------------------------------------------------------
def config_from(argv):
    from minigrad.cli import _config_from_args, build_parser
    parser, train_parser = build_parser()
    return _config_from_args(parser.parse_args(argv), argv, train_parser)


@pytest.mark.parametrize("init", INITS)
def test_cli_init_flag_sets_the_config(init):
    assert config_from(["train", "--init", init]).init == init


def test_cli_init_default_is_train_configs():
    from minigrad.training import TrainConfig
    assert config_from(["train"]).init == TrainConfig().init == "he"


def test_cli_bad_init_is_an_argument_error(capsys):
    from minigrad.cli import main
    with pytest.raises(SystemExit) as exc:
        main(["train", "--init", "xavier"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--init: invalid choice: 'xavier'" in err and "'glorot_uniform'" in err, err
    assert "Traceback" not in err


def test_cli_resume_takes_init_from_the_checkpoint_and_refuses_another(tmp_path):
    from minigrad.training import TrainConfig, train
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 6)).astype(np.float32)
    data = (x[:32], rng.integers(0, 3, size=32), x[32:], rng.integers(0, 3, size=16))
    path = str(tmp_path / "run.npz")
    train(TrainConfig(hidden=(4,), batch_size=16, momentum_epochs=1, init="glorot_uniform"),
          data, checkpoint=path)
    resumed = config_from(["train", "--resume", path, "--epochs", "2"])
    assert resumed.init == "glorot_uniform" and resumed.hidden == (4,)
    changed = config_from(["train", "--resume", path, "--epochs", "2", "--init", "he"])
    assert changed.init == "he"
    with pytest.raises(ValueError, match="configuration differs.*init: checkpoint "
                                         "'glorot_uniform', now 'he'"):
        train(changed, data, resume=path)
