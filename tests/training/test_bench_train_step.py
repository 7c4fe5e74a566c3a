"""bench/train_step.py and its helpers: the FLOP count, the FMA limit and its fallbacks, the
numpy children's environment, and the JAX contender against HandMLP (when jax is installed).

None of this needs ../shared: the probe is a fake script written here.
"""
import json
import os
import subprocess
import sys
import textwrap

import pytest

from support.paths import BENCH, bench_script


@pytest.fixture(scope="module")
def ts():
    return bench_script("train_step")


@pytest.fixture(scope="module")
def fma():
    return bench_script("fma_limit")


@pytest.fixture(scope="module")
def timing():
    return bench_script("timing")


def test_step_flops_counts_every_product_but_the_first_input_gradient(ts):
    # 784-128-10: forward 784*128 + 128*10 = 101632 MACs per example, as many for the
    # weight gradients, 128*10 = 1280 for the one input gradient that is needed
    assert ts.step_flops((784, 128, 10), 32) == 2 * 32 * (101632 + 101632 + 1280)
    # 4-3-2-1 at batch 5: MACs 12, 6, 2 -> 20 forward, 20 weight, 6 + 2 input gradients
    assert ts.step_flops((4, 3, 2, 1), 5) == 2 * 5 * 48


def fake_probe(path, body):
    path.write_text(textwrap.dedent(body))
    return str(path)


def test_the_limit_comes_from_a_probe_script(fma, tmp_path):
    script = fake_probe(tmp_path / "probe.py", """
        import json, sys
        assert sys.argv[1:] == ["--json"]
        print("compiling the probe...")
        print(json.dumps({"cores": 2, "fp32_gflops_1core": 40.0, "fp32_gflops_all_cores": 78.0,
                          "fp64_gflops_1core": 20.0}))
    """)
    limit = fma.resolve(script=script, default_script=None)
    assert (limit.gflops_1core, limit.gflops_all_cores, limit.cores) == (40.0, 78.0, 2)
    assert limit.for_threads(1) == (40.0, "1 x 1-core")
    assert limit.for_threads(2) == (78.0, "all 2 cores")  # every core: the all-cores figure
    assert limit.for_threads(3) == (120.0, "3 x 1-core")
    assert fma.fmt_fraction(limit.fraction(39.0, 2)) == "50%"
    assert "40.0 GFLOP/s on 1 core, 78.0 on 2 cores" in fma.describe(limit)


def test_a_failing_probe_leaves_the_limit_unmeasured(fma, tmp_path, capsys):
    script = fake_probe(tmp_path / "broken.py", "import sys; print('no JSON'); sys.exit(3)\n")
    assert fma.resolve(script=script, default_script=None) is None
    assert "exit 3" in capsys.readouterr().err


def test_numbers_given_on_the_command_line_win(fma, tmp_path):
    script = fake_probe(tmp_path / "never.py", "raise SystemExit('must not run')\n")
    limit = fma.resolve(numbers="40.1,79.8", script=script)
    assert (limit.gflops_1core, limit.gflops_all_cores) == (40.1, 79.8)
    assert limit.cores == len(os.sched_getaffinity(0))
    for bad in ("40.1", "a,b", "0,79.8", "40,-1"):
        with pytest.raises(ValueError, match="--fma-limit"):
            fma.parse_numbers(bad)


def test_bad_fma_limit_is_a_usage_error(ts):
    with pytest.raises(SystemExit):
        ts.main(["--fma-limit", "fast", "--configs", "4-3-2@2"])


def test_without_any_limit_the_fractions_are_dashes(ts, fma, tmp_path):
    assert fma.resolve(default_script=str(tmp_path / "missing.py")) is None
    assert fma.describe(None) == "FMA limit not measured"
    assert fma.fmt_fraction(fma.fraction_at(None, 10.0, 1)) == "-"
    summary = {("784-128-10@32", 1, "minigrad"): {"gflops": 13.0}}
    assert ts.flop_cells([summary[("784-128-10@32", 1, "minigrad")], None], 1,
                         ts.step_flops((784, 128, 10), 32), None) == [
        "0.01309", "-", "13.0 (-)", "-"]


def test_the_tables_give_gflops_and_the_fraction_of_the_limit(ts, fma):
    # 32000 samples/s at batch 32 is 1000 steps/s: 13.09 GFLOP/s of 784-128-10's products
    results = [{"config": "784-128-10@32", "threads": t, "lib": lib, "samples_per_s": rate,
                "peak_rss_kib": 40 * 1024, "rss_after_imports_kib": 30 * 1024, "repeat": 0}
               for t in (1, 2) for lib, rate in (("minigrad", 32000.0), ("jax", 16000.0))]
    summary = {(c, t, lib): ts.summarize(results, c, t, lib)
               for c in ["784-128-10@32"] for t in (1, 2) for lib in ("minigrad", "jax")}
    assert summary[("784-128-10@32", 1, "minigrad")]["gflops"] == pytest.approx(13.090816)
    throughput, flops, _ = ts.tables(summary, ["784-128-10@32"], [1, 2], ["minigrad", "jax"],
                                     fma.parse_numbers("40,80", cores=2))
    assert "| minigrad/jax |" in throughput.splitlines()[0] + "|"
    assert "| 784-128-10 | 32 | 1 | 32000 [32000-32000] | 16000 [16000-16000] | 2.00 |" in throughput
    lines = flops.splitlines()
    assert lines[2] == "| 784-128-10 | 32 | 1 | 0.01309 | 40.0 (1 x 1-core) | 13.1 (33%) | 6.5 (16%) |"
    assert lines[3] == "| 784-128-10 | 32 | 2 | 0.01309 | 80.0 (all 2 cores) | 13.1 (16%) | 6.5 (8%) |"


def test_only_the_numpy_children_lose_the_openblas_overrides(ts, monkeypatch):
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.setenv("OPENBLAS_L2_SIZE", "1048576")
    for lib in ("numpy", "mg-numpy"):
        env = ts.child_env(lib, 1)
        assert "OPENBLAS_CORETYPE" not in env and "OPENBLAS_L2_SIZE" not in env
        assert env["OPENBLAS_NUM_THREADS"] == "1"
    for lib in ("minigrad", "torch", "jax"):
        assert ts.child_env(lib, 2)["OPENBLAS_CORETYPE"] == "Haswell"
    assert os.environ["OPENBLAS_CORETYPE"] == "Haswell"  # the parent keeps them


def test_a_script_starts_again_without_the_openblas_overrides(tmp_path):
    script = tmp_path / "reexec.py"
    script.write_text(textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(BENCH)!r})
        from timing import reexec_without_openblas_overrides, removed_openblas_overrides
        print("start", sys.argv[1:])
        reexec_without_openblas_overrides()
        print(os.environ.get("OPENBLAS_CORETYPE"), removed_openblas_overrides())
    """))
    env = {**os.environ, "OPENBLAS_CORETYPE": "Haswell"}
    env.pop("OPENBLAS_L2_SIZE", None)
    out = subprocess.run([sys.executable, str(script), "--x"], env=env, capture_output=True,
                         text=True, check=True).stdout.splitlines()
    assert out[0] == out[2] == "start ['--x']"  # the same arguments, twice: it ran again
    assert "running again without {'OPENBLAS_CORETYPE': 'Haswell'}" in out[1]
    assert out[3] == "None {'OPENBLAS_CORETYPE': 'Haswell'}"


def test_kernel_bench_gives_gemm_rows_the_fraction_of_the_limit(fma, timing):
    kernels = bench_script("bench_kernels")
    stats = {"minigrad": timing.Stats(0.001, 0.001, 0.001, [0.001]),
             "numpy": timing.Stats(0.002, 0.002, 0.002, [0.002])}
    gemm = {"op": "X@W", "threads": 2, "unit": "GFLOP/s", "work": 40e6, "stats": stats}
    relu = {"op": "relu", "threads": 1, "unit": "Melem/s", "work": 1e6, "stats": stats}
    # 40 and 20 GFLOP/s on 2 threads against the 2-core limit of 80
    table = kernels.markdown_table([gemm, relu], ["minigrad", "numpy"],
                                   fma.parse_numbers("40,80", cores=2)).splitlines()
    assert table[0].endswith("| minigrad % of FMA limit | numpy % of FMA limit |")
    assert table[2].endswith("| 2.00 | 50% | 25% |") and table[3].endswith("| 2.00 | - | - |")
    assert kernels.markdown_table([gemm], ["minigrad", "numpy"], None).endswith("| - | - |")
    # a table without GEMM rows has no fraction columns
    assert "FMA" not in kernels.markdown_table([relu], ["minigrad", "numpy"], None)


def test_busy_threads_counts_threads_above_the_threshold(timing):
    before = {"1": 0.0, "2": 5.0}
    after = {"1": 0.9, "2": 5.04, "3": 0.2}  # a thread that started meanwhile counts from 0
    assert timing.busy_threads(before, after, wall=1.0) == 2
    assert str(os.getpid()) in timing.thread_cpu_seconds()  # the main thread's id is the pid


# ---- the JAX contender -------------------------------------------------------------------
TINY = (30, 16, 12, 5)


@pytest.fixture(scope="module")
def tiny_batch(ts):
    pytest.importorskip("jax")
    return ts.make_data(8, TINY[0], TINY[-1])


def test_jax_steps_match_hand_numpy_without_dropout(ts, tiny_batch):
    # losses of 3 steps and the weights after them, max-norm c = 1 active in every layer
    ts.check_same_steps(TINY, *tiny_batch, ["jax"])


def test_jax_dropout_is_hand_numpys_and_fresh_every_step(ts, tiny_batch):
    ts.check_jax_masks(TINY, *tiny_batch)


def test_jax_keep_rates(ts):
    pytest.importorskip("jax")
    ts.check_keep_rates(["jax"])


def test_the_docstring_examples_run(ts, fma):
    import doctest
    for module in (ts, fma):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, (module.__name__, result)


def test_the_ratio_to_a_peer_is_taken_within_each_repeat(ts):
    # The machine's speed drifts between repeats: within them minigrad is 1.5, 1.2 and
    # 1.8x the peer (median 1.5), while the ratio of the medians is 1800 / 1000 = 1.8.
    rates = {"minigrad": [3000.0, 1200.0, 1800.0], "jax": [2000.0, 1000.0, 1000.0]}
    results = [{"config": "784-128-10@32", "threads": 1, "lib": lib, "samples_per_s": rate,
                "peak_rss_kib": 1024, "rss_after_imports_kib": 1024, "repeat": k}
               for lib, rs in rates.items() for k, rate in enumerate(rs)]
    mine, theirs = (ts.summarize(results, "784-128-10@32", 1, lib) for lib in rates)
    assert ts.paired_ratio(mine, theirs) == "1.50"
    assert ts.paired_ratio(mine, None) == "-"


def test_render_rebuilds_the_tables_of_a_saved_run(ts, tmp_path):
    results = [{"config": "784-128-10@32", "threads": 1, "lib": lib, "samples_per_s": rate,
                "peak_rss_kib": 40 * 1024, "rss_after_imports_kib": 30 * 1024, "repeat": 0}
               for lib, rate in (("minigrad", 32000.0), ("jax", 16000.0))]
    env = {"cpu": "a CPU", "load_before": None, "load_after": None, "foreign_cores_mean": 0.0,
           "foreign_cores_max": 0.0, "wall_s": 1.0, "blas": [], "blas_of": "numpy",
           "repeats": 1, "fma_limit": {"gflops_1core": 40.0, "gflops_all_cores": 80.0,
                                       "cores": 2, "source": "given"}}
    saved, out = tmp_path / "run.json", tmp_path / "run.md"
    saved.write_text(json.dumps({"environment": env, "results": results}))
    ts.main(["--render", str(saved), "--markdown", str(out)])
    text = out.read_text()
    assert "| 784-128-10 | 32 | 1 | 32000 [32000-32000] | 16000 [16000-16000] | 2.00 |" in text
    assert "| 784-128-10 | 32 | 1 | 0.01309 | 40.0 (1 x 1-core) | 13.1 (33%) | 6.5 (16%) |" in text
