"""The learning curve of `minigrad train`: the loss over the steps beside the test error.

What is drawn is checked against the history it comes from: the loss line's points,
their positions in epochs, the centred average, and integer epoch ticks (one epoch must
not get ticks at 0.96, 0.98, ...).
"""
import numpy as np
import pytest

from minigrad.history import _centred_mean, learning_curve_figure, plot_learning_curve

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def history(epochs, points_per_epoch):
    rng = np.random.default_rng(0)
    return [{"epoch": e, "lr": 0.1, "momentum": 0.5, "train_loss": 1.0 / e,
             "test_error": 0.1 / e, "seconds": 1.0, "samples_per_s": 100.0,
             "train_loss_curve": list(2.0 / (e + np.arange(points_per_epoch) / points_per_epoch)
                                      + 0.05 * rng.random(points_per_epoch))}
            for e in range(1, epochs + 1)]


@pytest.fixture
def plt():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    yield plt
    plt.close("all")


@pytest.mark.parametrize("epochs", [1, 3, 40])
def test_every_x_tick_is_a_whole_epoch(plt, epochs):
    fig = learning_curve_figure(history(epochs, 60))
    for ax in fig.axes:
        lo, hi = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks


def test_the_loss_line_is_the_history_s_curve_placed_in_epochs(plt):
    h = history(2, 60)
    fig = learning_curve_figure(h)
    ax_loss, ax_err = fig.axes
    raw, smooth = ax_loss.get_lines()[:2]
    expected_y = h[0]["train_loss_curve"] + h[1]["train_loss_curve"]
    np.testing.assert_array_equal(raw.get_ydata(), expected_y)
    np.testing.assert_allclose(raw.get_xdata(), np.arange(1, 121) / 60)
    np.testing.assert_allclose(smooth.get_ydata(), _centred_mean(np.array(expected_y), 5))
    # one dotted line at the epoch boundary, test error in percent at epochs 1 and 2
    boundaries = [line for line in ax_loss.get_lines() if line.get_linestyle() == ":"]
    assert [line.get_xdata()[0] for line in boundaries] == [1]
    err = ax_err.get_lines()[0]
    np.testing.assert_allclose(err.get_xdata(), [1, 2])
    np.testing.assert_allclose(err.get_ydata(), [10.0, 5.0])


def test_centred_mean_by_hand():
    v = np.array([1.0, 2.0, 3.0, 10.0, 5.0])
    np.testing.assert_allclose(_centred_mean(v, 3), [1.5, 2.0, 5.0, 6.0, 7.5])
    np.testing.assert_allclose(_centred_mean(v, 1), v)


def test_a_history_without_curves_draws_a_point_per_epoch(plt, tmp_path):
    old = [{k: v for k, v in r.items() if k != "train_loss_curve"} for r in history(3, 5)]
    fig = learning_curve_figure(old)
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_ydata(), [1.0, 0.5, 1 / 3])
    path = plot_learning_curve(str(tmp_path), old)
    with open(path, "rb") as f:
        assert f.read(8) == PNG_MAGIC
