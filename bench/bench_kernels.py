"""Benchmark minigrad's kernels against numpy and PyTorch, honestly.

Usage::

    python bench/bench_kernels.py                 # full run (about 1-2 minutes)
    python bench/bench_kernels.py --quick         # smoke test
    python bench/bench_kernels.py --json out.json --markdown out.md
    python bench/bench_kernels.py --fma-limit 40.1,79.8   # the FMA limit, measured earlier

What is compared (float32, at 1 and 2 threads, every library pinned to that count):

* matmul GFLOP/s (2*m*n*k / time) at the products of a training step of
  bench/train_step.py's networks, for each of its batch sizes (``mlp_shapes``): forward
  products X @ W, the weight gradient X.T @ dY and the input gradient dY @ W.T, and a
  square 1024 product. Transposed
  operands are passed to every library as transposed *views* (no copies): minigrad's
  dispatch turns them into a flag for its kernel, numpy and torch into a BLAS flag.
* dropout (p = 0.5) and ReLU throughput in elements/s on a 128 x 1024 array, forward
  and forward+backward, through ``minigrad.kernels.dispatch`` (compiled kernels when
  built, otherwise their numpy twins: the printed backend_info says which ran).
* the fused dense layer: forward ``dropout(relu(X @ W + b))`` (GFLOP/s of the product;
  minigrad's ``fused_linear_forward``, one kernel) and its backward below the product, the
  gradient w.r.t. ``X @ W + b`` and the bias (elements/s; ``fused_linear_backward``).
  numpy and torch run the same steps one by one. bench_fused.py compares minigrad's
  fused and unfused forms.

Every GFLOP/s row also gives minigrad's and numpy's rate as a fraction of the machine's
fp32 FMA limit at that thread count (``fma_limit.py``: measured by
``../shared/tools/fma_peak.py`` when that exists, or given by ``--fma-limit`` /
``--fma-peak``; otherwise "-").

numpy runs in this process, so the script must start without the OpenBLAS kernel
overrides (OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE; they force AVX2 kernels on an AVX-512
CPU): when run from the command line with either set, ``run`` starts the script again
without them (``timing.reexec_without_openblas_overrides``) and says so; the kernel that
OpenBLAS picked (threadpoolctl's ``architecture``) is printed and named in the table's
header. bench_dropout_family.py, which runs through ``run`` too, gets the same.

Contenders are interleaved, warmed up, and summarised by median and min-max spread over
the repeats (see timing.py). Run it on a quiet machine: load average is printed before
and after, and a busy second core ruins two-thread figures.
"""
import argparse
import dataclasses
import itertools
import json
import os
import platform
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fma_limit  # noqa: E402
from timing import (blas_architecture, blas_info, cpu_label, cpu_model,  # noqa: E402
                    interleaved, load_average, pinned_threads, reexec_without_openblas_overrides,
                    removed_openblas_overrides, without_openblas_overrides)

from which_minigrad import describe, import_minigrad  # noqa: E402

minigrad = import_minigrad()
from minigrad.kernels import dispatch  # noqa: E402

try:
    import torch
except ImportError:
    torch = None

# The batch sizes of bench/train_step.py's configurations.
MLP_BATCHES = (32, 64, 128, 256)


def mlp_shapes(batch):
    """The matrix products of one training step of train_step.py's networks at ``batch``.

    ``(label, m, k, n, trans_a, trans_b)``: out (m, n) = op(A) @ op(B), op(A) is (m, k).
    784-1024x3-10: the first layer's forward and weight gradient, a hidden layer's three
    products (forward, weight gradient X.T @ dY, input gradient dY @ W.T);
    784-128-10 and 784-256-256-10: their first layer's forward and weight gradient.
    """
    b = batch
    return [
        (f"X@W    {b}x784 @ 784x1024", b, 784, 1024, False, False),
        (f"X.T@dY 784x{b} @ {b}x1024", 784, b, 1024, True, False),
        (f"H@W    {b}x1024 @ 1024x1024", b, 1024, 1024, False, False),
        (f"H.T@dY 1024x{b} @ {b}x1024", 1024, b, 1024, True, False),
        (f"dY@W.T {b}x1024 @ 1024x1024", b, 1024, 1024, False, True),
        (f"X@W    {b}x784 @ 784x256", b, 784, 256, False, False),
        (f"X.T@dY 784x{b} @ {b}x256", 784, b, 256, True, False),
        (f"X@W    {b}x784 @ 784x128", b, 784, 128, False, False),
        (f"X.T@dY 784x{b} @ {b}x128", 784, b, 128, True, False),
    ]


MATMUL_SHAPES = [shape for batch in MLP_BATCHES for shape in mlp_shapes(batch)] + [
    ("square 1024x1024 @ 1024x1024", 1024, 1024, 1024, False, False),
]
ELEMENTWISE_SHAPE = (128, 1024)
P_DROP = 0.5
SETTLE_SECONDS = 0.15


def matmul_contenders(rng, m, k, n, trans_a, trans_b):
    """Callables computing op(A) @ op(B) per library, all on the same float32 data."""
    a = rng.standard_normal((k, m) if trans_a else (m, k), dtype=np.float32)
    b = rng.standard_normal((n, k) if trans_b else (k, n), dtype=np.float32)
    av = a.T if trans_a else a      # transposed *views*, as autograd would pass them
    bv = b.T if trans_b else b
    fns = {"minigrad": lambda: dispatch.matmul(av, bv),
           "numpy": lambda: np.matmul(av, bv)}
    if torch is not None:
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        ta, tb = (ta.T if trans_a else ta), (tb.T if trans_b else tb)
        fns["torch"] = lambda: torch.matmul(ta, tb)
    return fns


def elementwise_contenders(rng):
    """{op name: {library: callable}} for dropout and ReLU on a 128 x 1024 float32 array."""
    x = rng.standard_normal(ELEMENTWISE_SHAPE, dtype=np.float32)
    g = rng.standard_normal(ELEMENTWISE_SHAPE, dtype=np.float32)
    seeds = itertools.count(12345)
    np_rng = np.random.default_rng(0)
    scale = np.float32(1.0 / (1.0 - P_DROP))
    y_relu = np.maximum(x, 0)

    def mg_dropout_fwd_bwd():
        out, mask = dispatch.dropout_forward(x, P_DROP, next(seeds))
        return dispatch.apply_dropout_mask(g, mask, P_DROP)

    def np_dropout_fwd():
        return x * (np_rng.random(x.shape, dtype=np.float32) >= P_DROP) / np.float32(1 - P_DROP)

    def np_dropout_fwd_bwd():
        keep = np_rng.random(x.shape, dtype=np.float32) >= P_DROP
        out = x * keep / np.float32(1 - P_DROP)
        return out, g * keep * scale

    ops = {
        "dropout fwd": {
            "minigrad": lambda: dispatch.dropout_forward(x, P_DROP, next(seeds)),
            "numpy": np_dropout_fwd},
        "dropout fwd+bwd": {
            "minigrad": mg_dropout_fwd_bwd,
            "numpy": np_dropout_fwd_bwd},
        "relu fwd": {
            "minigrad": lambda: dispatch.relu_forward(x),
            "numpy": lambda: np.maximum(x, 0)},
        "relu bwd": {
            "minigrad": lambda: dispatch.relu_backward(g, y_relu),
            "numpy": lambda: np.where(y_relu > 0, g, 0)},
    }
    if torch is not None:
        tx, tg, ty = torch.from_numpy(x), torch.from_numpy(g), torch.from_numpy(y_relu)
        F = torch.nn.functional

        def torch_dropout_fwd_bwd():
            # The same two kernels autograd runs: sample + scale, then mask * grad * scale.
            out, mask = torch.ops.aten.native_dropout(tx, P_DROP, True)
            return out, torch.ops.aten.native_dropout_backward(tg, mask, float(scale))

        ops["dropout fwd"]["torch"] = lambda: F.dropout(tx, P_DROP, training=True)
        ops["dropout fwd+bwd"]["torch"] = torch_dropout_fwd_bwd
        ops["relu fwd"]["torch"] = lambda: torch.relu(tx)
        ops["relu bwd"]["torch"] = lambda: torch.ops.aten.threshold_backward(tg, ty, 0)
    return ops


FUSED_SHAPE = (128, 784, 1024)  # (m, k, n): X is (m, k), W is (k, n)


def fused_contenders(rng):
    """{op: (unit, work, {library: callable})} for the fused dense-layer kernels."""
    m, k, n = FUSED_SHAPE
    x = rng.standard_normal((m, k), dtype=np.float32)
    w = rng.standard_normal((k, n), dtype=np.float32) / np.float32(np.sqrt(k))
    b = rng.standard_normal(n, dtype=np.float32)
    g = rng.standard_normal((m, n), dtype=np.float32)
    seeds = itertools.count(777)
    np_rng = np.random.default_rng(1)
    scale = np.float32(1.0 / (1.0 - P_DROP))
    y = dispatch.fused_linear_forward(x, w, b, relu=True, p=P_DROP, seed=5)

    def np_forward():
        keep = np_rng.random((m, n), dtype=np.float32) >= P_DROP
        return np.maximum(x @ w + b, 0) * keep * scale

    def np_backward():
        grad_in = np.where(y > 0, g * scale, np.float32(0))
        return grad_in, grad_in.sum(axis=0)

    ops = {
        f"dense fwd {m}x{k}->{n}": ("GFLOP/s", 2.0 * m * k * n, {
            "minigrad": lambda: dispatch.fused_linear_forward(x, w, b, relu=True, p=P_DROP,
                                                        seed=next(seeds)),
            "numpy": np_forward}),
        f"dense bwd (no matmul) {m}x{n}": ("Melem/s", float(m * n), {
            "minigrad": lambda: dispatch.fused_linear_backward(g, y, P_DROP),
            "numpy": np_backward}),
    }
    if torch is not None:
        F = torch.nn.functional
        tx, tw, tb = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b)
        tg, ty = torch.from_numpy(g), torch.from_numpy(y)
        ops[f"dense fwd {m}x{k}->{n}"][2]["torch"] = lambda: F.dropout(
            torch.relu(torch.addmm(tb, tx, tw)), P_DROP, training=True)

        def torch_backward():
            # What autograd runs below the matmul: dropout's and relu's backward, bias sum.
            grad_in = torch.ops.aten.threshold_backward(tg * float(scale), ty, 0)
            return grad_in, grad_in.sum(0)
        ops[f"dense bwd (no matmul) {m}x{n}"][2]["torch"] = torch_backward
    return ops


def ratio(a, b):
    return a / b if a and b else float("nan")


def fmt_rate(stats, work, unit):
    med, lo, hi = stats.rate(work)
    return f"{med / unit:7.1f} [{lo / unit:.1f}-{hi / unit:.1f}]"


def fmt_load(load):
    return "unavailable" if load is None else " ".join(f"{x:.2f}" for x in load)


def describe_environment():
    """A dict of everything needed to interpret the numbers."""
    _, cores = cpu_model()
    env = {
        "cpu": cpu_label(), "cores": cores, "python": platform.python_version(),
        "minigrad_imported": describe(minigrad),
        "minigrad_backend": minigrad.backend_info(),
        "numpy_blas": blas_info(),
        "openblas_overrides_removed": removed_openblas_overrides(),
        "openblas_overrides_left": without_openblas_overrides(os.environ)[1],
        "torch": (None if torch is None else
                  {"version": torch.__version__, "default_threads": torch.get_num_threads()}),
    }
    return env


def parse_args(description, argv):
    """``(args, repeats, seconds per sample, thread counts)`` of a kernel bench's command line."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="few repeats: a smoke test")
    parser.add_argument("--threads", default="1,2", help="thread counts, e.g. 1,2")
    parser.add_argument("--json", metavar="PATH", help="write all results as JSON")
    parser.add_argument("--markdown", metavar="PATH", help="write the result table as Markdown")
    fma_limit.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.fma_limit:
        try:
            fma_limit.parse_numbers(args.fma_limit)
        except ValueError as e:
            parser.error(str(e))
    repeats, sample_time = (5, 0.005) if args.quick else (15, 0.03)
    return args, repeats, sample_time, [int(t) for t in args.threads.split(",")]


def matmul_rows(rng):
    """{op: (unit, work, {library: callable})} for the matrix products of MATMUL_SHAPES."""
    return {label: ("GFLOP/s", 2.0 * m * n * k, matmul_contenders(rng, m, k, n, ta, tb))
            for label, m, k, n, ta, tb in MATMUL_SHAPES}


def elementwise_rows(rng):
    """{op: (unit, work, {library: callable})} for dropout and ReLU on ELEMENTWISE_SHAPE."""
    shape = "x".join(map(str, ELEMENTWISE_SHAPE))
    return {f"{op} {shape}": ("Melem/s", float(np.prod(ELEMENTWISE_SHAPE)), fns)
            for op, fns in elementwise_contenders(rng).items()}


def run(sources, description, argv=None, extra_columns=()):
    """Time every row of every source, on each thread count asked for; print and save them.

    A source is a function ``source(rng) -> {op: (unit, work, {library: callable})}``,
    called once per thread count; ``work / seconds`` is the rate printed in ``unit``.
    ``extra_columns`` names contenders beyond the libraries (``"floor"``: the part of the
    work nothing can skip), each given a column and a minigrad ratio like a library's.
    Run from the command line (``argv`` None), it first starts the program again without
    the OpenBLAS overrides, if any is set (module docstring).
    """
    if argv is None:
        reexec_without_openblas_overrides()
    args, repeats, sample_time, threads = parse_args(description, argv)
    limit = fma_limit.resolve(args.fma_limit, args.fma_peak,
                              default_script=None if args.quick else fma_limit.SHARED_PROBE)
    env = describe_environment()
    env["load_before"] = load_average()
    env["fma_limit"] = limit and dataclasses.asdict(limit)
    print(env["minigrad_imported"])
    print("minigrad backend_info:", json.dumps(env["minigrad_backend"], indent=1))
    print("numpy", np.__version__, "BLAS:", env["numpy_blas"])
    print("OpenBLAS overrides removed:", env["openblas_overrides_removed"] or "none",
          "; still set:", env["openblas_overrides_left"] or "none")
    print("torch:", env["torch"] if torch is not None else "not installed")
    print(fma_limit.describe(limit))
    print(f"CPU: {env['cpu']}; load average before: {fmt_load(env['load_before'])}")
    print(f"repeats {repeats}, >= {sample_time * 1000:.0f} ms per sample, "
          f"{SETTLE_SECONDS * 1000:.0f} ms settle pause before each multi-thread sample; "
          "figures: median [slowest-fastest]\n")

    libs = ["minigrad", "numpy"] + (["torch"] if torch is not None else []) + list(extra_columns)
    rng = np.random.default_rng(0)
    rows = []
    for n_threads in threads:
        # Idle OpenBLAS workers spin ~0.1 s after a call (see timing.py): with several
        # threads, sleep before each sample so that no contender inherits them.
        settle = SETTLE_SECONDS if n_threads > 1 else 0.0
        with pinned_threads(n_threads, minigrad=minigrad, torch=torch):
            for source in sources:
                for op, (unit, work, fns) in source(rng).items():
                    stats = interleaved(fns, repeats=repeats, min_sample_time=sample_time,
                                        settle=settle)
                    rows.append({"kind": source.__name__, "op": op, "threads": n_threads,
                                 "unit": unit, "work": work, "stats": stats})
                    print_row(rows[-1], libs, limit)
    env["load_after"] = load_average()
    print(f"\nload average after: {fmt_load(env['load_after'])}")
    save_results(args, env, rows, libs, repeats, limit)


def main(argv=None):
    run([matmul_rows, elementwise_rows, fused_contenders], __doc__.split("\n\n")[0], argv)


def save_results(args, env, rows, libs, repeats, limit):
    """Print the Markdown table; write it (``--markdown``) and every sample (``--json``)."""
    table = markdown_table(rows, libs, limit)
    print("\n" + table)
    if args.markdown:
        kernels = env["minigrad_backend"]["kernels"]
        arch = blas_architecture(env["numpy_blas"])
        with open(args.markdown, "w") as f:
            f.write(f"CPU: {env['cpu']}; {fma_limit.describe(limit)}; numpy's OpenBLAS "
                    f"kernels: {arch or 'unknown'}; load average before "
                    f"{fmt_load(env['load_before'])}, after {fmt_load(env['load_after'])}; "
                    f"minigrad kernels: {kernels}; figures: median [slowest-fastest] "
                    f"over {repeats} repeats; % of FMA limit: of the fp32 limit at the "
                    f"row's thread count.\n\n{table}\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"environment": env, "results": [
                {**{k: v for k, v in r.items() if k != "stats"},
                 "seconds": {lib: {"median": s.median, "min": s.min, "max": s.max,
                                   "samples": s.samples} for lib, s in r["stats"].items()}}
                for r in rows]}, f, indent=1, default=str)


def unit_scale(row):
    return 1e9 if row["unit"].startswith("G") else 1e6  # GFLOP/s, Gconn/s; else M...


def fma_fractions(row, limit, libs=("minigrad", "numpy")):
    """``{lib: "52%"}``: each of ``libs``' median rate in a GFLOP/s row as a fraction of the
    FMA limit at the row's thread count; "-" for other units or without a limit."""
    s = row["stats"]
    return {lib: fma_limit.fmt_fraction(
                fma_limit.fraction_at(limit, row["work"] / s[lib].median / 1e9, row["threads"])
                if row["unit"] == "GFLOP/s" and lib in s else None)
            for lib in libs}


def print_row(row, libs, limit=None):
    s, work, unit = row["stats"], row["work"], unit_scale(row)
    cells = "  ".join(f"{lib} {fmt_rate(s[lib], work, unit)}" for lib in libs if lib in s)
    ratios = "  ".join(f"mg/{lib} {ratio(s[lib].median, s['minigrad'].median):.2f}"
                       for lib in libs[1:] if lib in s)
    fractions = "  ".join(f"{lib} {frac}" for lib, frac in fma_fractions(row, limit).items())
    print(f"{row['threads']}t {row['op']:<34} {row['unit']}: {cells}  |  {ratios}"
          + (f"  |  of FMA limit: {fractions}" if row["unit"] == "GFLOP/s" else ""), flush=True)


def markdown_table(rows, libs, limit=None):
    """The rows as Markdown: rates, minigrad's ratios, and (when some row is in GFLOP/s)
    minigrad's and numpy's fractions of the FMA ``limit``."""
    has_gemm = any(row["unit"] == "GFLOP/s" for row in rows)
    fraction_libs = ("minigrad", "numpy") if has_gemm else ()
    head = (["op", "threads", "unit"] + libs + [f"minigrad/{lib}" for lib in libs[1:]]
            + [f"{lib} % of FMA limit" for lib in fraction_libs])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        s, work, unit = row["stats"], row["work"], unit_scale(row)
        cells = [" ".join(row["op"].split()), str(row["threads"]), row["unit"]]
        cells += [fmt_rate(s[lib], work, unit).strip() if lib in s else "-" for lib in libs]
        cells += [f"{ratio(s[lib].median, s['minigrad'].median):.2f}" if lib in s else "-"
                  for lib in libs[1:]]
        cells += list(fma_fractions(row, limit, fraction_libs).values())
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
