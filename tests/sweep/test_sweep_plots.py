"""The sweep's plots: which files, and that they draw the summary's numbers."""
from concurrent.futures import ThreadPoolExecutor

import pytest

from minigrad.sweep import run_sweep, summarize
from minigrad.sweep.plots import error_vs_axis_figure, write_plots

from support.sweeps import small_sweep

pytest.importorskip("matplotlib")
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    sweep = small_sweep({"p_input": [0.0, 0.2], "p_hidden": [0.2, 0.35, 0.5]}, seeds=(0, 1))
    with ThreadPoolExecutor(1) as pool:
        results = run_sweep(sweep, out, executor=pool, threads=1, progress=False)
    return out, sweep, results


def test_two_swept_axes_give_both_curves_the_heatmap_and_the_learning_curves(swept):
    out, sweep, results = swept
    paths = write_plots(out, sweep, results)
    names = sorted(p.rsplit("/", 1)[1] for p in paths)
    assert names == ["error_vs_p_hidden.png", "error_vs_p_input.png", "heatmap.png",
                     "learning_curves.png"]
    for path in paths:
        with open(path, "rb") as f:
            assert f.read(8) == PNG


def test_the_curves_draw_the_summary_means_one_line_per_other_value(swept):
    import matplotlib.pyplot as plt
    out, sweep, results = swept
    rows = summarize(sweep, results)
    fig = error_vs_axis_figure(sweep, rows, "p_hidden")
    validation, test = fig.axes[:2]
    # each errorbar's data line: the test error, then the training error, per p_input
    lines = [bars.lines[0] for bars in test.containers]
    assert len(lines) == 4  # p_input = 0.0 and 0.2
    for (line, train_line), p_input in zip(zip(lines[::2], lines[1::2]), (0.0, 0.2)):
        mine = [r for r in rows if r["p_input"] == p_input]
        assert list(line.get_ydata()) == pytest.approx([100 * r["test_error_mean"] for r in mine])
        assert list(train_line.get_ydata()) == pytest.approx(
            [100 * r["train_error_mean"] for r in mine])
        assert list(line.get_xdata()) == [0.2, 0.35, 0.5]
    first = validation.containers[0].lines[0]
    assert list(first.get_ydata()) == pytest.approx(
        [100 * r["validation_error_mean"] for r in rows if r["p_input"] == 0.0])
    plt.close(fig)


def test_one_swept_axis_has_no_heatmap(tmp_path):
    sweep = small_sweep({"p_hidden": [0.2, 0.5], "p_input": [0.1]})
    with ThreadPoolExecutor(1) as pool:
        results = run_sweep(sweep, tmp_path, executor=pool, threads=1, progress=False)
    names = sorted(p.rsplit("/", 1)[1] for p in write_plots(tmp_path, sweep, results))
    assert names == ["error_vs_p_hidden.png", "learning_curves.png"]


def _rows(errors, validation=True):
    """Summary rows of a one-seed sweep over p_hidden = 0.1, 0.2, ... with these test
    errors (fractions), training error 0 and, with ``validation``, validation = test."""
    return [{"p_hidden": round(0.1 * (i + 1), 1), "test_error_mean": e, "test_error_sd": None,
             "test_n": 1, "validation_error_mean": e if validation else None,
             "validation_error_sd": None, "validation_n": int(validation),
             "train_error_mean": 0.0, "train_error_sd": None, "train_n": 1, "chosen": False}
            for i, e in enumerate(errors)]


def test_titles_say_one_seed_and_no_validation_means_no_validation_panel():
    import matplotlib.pyplot as plt
    from minigrad.sweep import Sweep
    sweep = Sweep({"p_hidden": [0.1, 0.2, 0.3]})
    for validation, titles in ((True, ["validation error (one seed)", "test error (one seed)"]),
                               (False, ["test error (one seed)"])):
        fig = error_vs_axis_figure(sweep, _rows([0.02, 0.03, 0.04], validation), "p_hidden")
        assert [panel.get_title() for panel in fig.axes] == titles
        plt.close(fig)
    fig = error_vs_axis_figure(Sweep({"p_hidden": [0.1, 0.2, 0.3]}, seeds=(0, 1, 2)),
                               _rows([0.02, 0.03, 0.04]), "p_hidden")
    assert fig.axes[1].get_title() == "test error (mean ± sd over 3 seeds)"
    plt.close(fig)


def test_errors_spanning_a_decade_get_a_scale_that_keeps_zero_and_the_small_values():
    import matplotlib.pyplot as plt
    from minigrad.sweep import Sweep
    sweep = Sweep({"p_hidden": [0.1, 0.2, 0.3]})
    for errors, scale in (([0.015, 0.02, 0.44], "symlog"), ([0.015, 0.02, 0.04], "linear")):
        fig = error_vs_axis_figure(sweep, _rows(errors), "p_hidden")
        assert [panel.get_yscale() for panel in fig.axes] == [scale, scale]
        if scale == "symlog":
            assert fig.axes[0].get_ylim()[0] == 0  # the 0% training errors stay visible
        plt.close(fig)


def test_linked_values_that_would_overlap_are_written_slanted():
    import matplotlib.pyplot as plt
    from minigrad.sweep import Sweep
    for n, hidden, rotation in ((8, [(32 * (i + 1),) * 3 for i in range(8)], 35),  # 8 x 18
                                (4, [(i + 1,) for i in range(4)], 0)):  # 4 x "hidden=1"
        rates = [round(0.1 * (i + 1), 1) for i in range(n)]
        sweep = Sweep({"p_hidden": rates, "hidden": hidden}, linked=[("p_hidden", "hidden")])
        rows = [{**row, "hidden": h} for row, h in zip(_rows([0.02] * n), hidden)]
        fig = error_vs_axis_figure(sweep, rows, "p_hidden")
        labels = fig.axes[1].get_xticklabels()
        assert labels[1].get_text() == "0.2\nhidden=" + "x".join(map(str, hidden[1]))
        assert {label.get_rotation() for label in labels} == {rotation}
        plt.close(fig)
