"""The summary: mean, sd and count over seeds per grid point, validation and test kept
apart, the choice made on validation error only (checked against hand-computed rows)."""
import math

from minigrad.sweep import Sweep, summarize
from minigrad.sweep.summary import render_markdown, summarize_results


def result(p, validation, test, status="ok"):
    return {"point": {"p": p}, "status": status, "validation_error": validation,
            "test_error": test}


AXES = [("p", (0.0, 0.5, 0.8))]


def test_mean_sd_and_count_over_seeds_by_hand():
    rows = summarize_results(AXES, [
        result(0.0, 0.10, 0.20), result(0.0, 0.14, 0.22), result(0.0, 0.12, 0.27),
        result(0.5, 0.05, 0.30), result(0.5, None, None, "failed"), None,
        result(0.8, 0.20, 0.10), result(0.8, 0.30, 0.12), result(0.8, 0.25, 0.08)])
    first, second, third = rows
    assert math.isclose(first["validation_error_mean"], 0.12)
    assert math.isclose(first["validation_error_sd"], 0.02)  # sqrt((4e-4 + 4e-4) / 2)
    assert math.isclose(first["test_error_mean"], 0.23)
    assert math.isclose(first["test_error_sd"], math.sqrt((0.03**2 + 0.01**2 + 0.04**2) / 2))
    assert (first["validation_n"], first["test_n"], first["failed"], first["missing"]) == \
        (3, 3, 0, 0)
    # one seed: a mean, no sd; one failed and one not run, each counted
    assert (second["validation_error_mean"], second["validation_error_sd"],
            second["validation_n"], second["failed"], second["missing"]) == (0.05, None, 1, 1, 1)
    # p=0.8 has the best test error, p=0.5 the best validation error but a failure:
    # the choice is p=0.0, on validation among the complete rows, never on test
    assert [r["chosen"] for r in rows] == [True, False, False]
    assert third["test_error_mean"] < first["test_error_mean"]


def test_nothing_is_chosen_without_a_validation_split():
    rows = summarize_results(AXES, [result(p, None, 0.1) for p in (0.0, 0.5, 0.8)])
    assert not any(r["chosen"] for r in rows)
    assert rows[0]["validation_n"] == 0 and rows[0]["test_n"] == 1
    sweep = Sweep({"p_input": [0.0, 0.5, 0.8]})
    text = render_markdown(sweep, [dict(r, p_input=r["p"]) for r in rows])
    assert "No validation split, so no configuration is chosen" in text


def test_the_markdown_marks_the_choice_and_keeps_the_errors_apart():
    sweep = Sweep({"p_input": [0.0, 0.5]}, seeds=(0, 1))
    # the p_input=0.5 trials ran before the training error was recorded
    results = [{"point": {"p_input": p}, "status": "ok", "validation_error": v,
                "test_error": t, **({"train_error": 0.05} if p == 0.0 else {})}
               for p, v, t in
               [(0.0, 0.1, 0.3), (0.0, 0.1, 0.3), (0.5, 0.2, 0.1), (0.5, 0.2, 0.1)]]
    rows = summarize(sweep, results)
    text = render_markdown(sweep, rows)
    assert ("| 0.0 | 10.00 ± 0.00 (2) | 30.00 ± 0.00 (2) | 5.00 ± 0.00 (2) | 0 | 0 "
            "| **chosen** |") in text
    assert "| 0.5 | 20.00 ± 0.00 (2) | 10.00 ± 0.00 (2) | - | 0 | 0 |  |" in text
    assert "Chosen on validation error: p_input=0.0" in text
