"""Fused vs unfused dense-layer kernels: what removing the elementwise passes buys.

Usage::

    python bench/bench_fused.py            # about half a minute
    python bench/bench_fused.py --quick    # smoke test

Forward, ``y = dropout(relu(x @ w + b))`` with p = 0.5, float32:

* fused:   ``dispatch.fused_linear_forward(x, w, b, relu=True, p=0.5, seed=...)`` (one kernel);
* unfused: ``dispatch.matmul``, numpy ``+ b``, ``dispatch.relu_forward``,
  ``dispatch.dropout_forward`` (the same bits, four passes over the output).

Backward below the matmul, for the same layer:

* fused:   ``dispatch.fused_linear_backward(g, y, 0.5)`` -> (grad_in, grad_bias);
* unfused: ``dispatch.relu_backward``, ``dispatch.apply_dropout_mask``, ``sum(axis=0)``.

Shapes: batch 128, 784 -> 1024 (an MNIST first layer) and 1024 -> 1024. Contenders are
interleaved, warmed up and summarised by the median and min-max over the repeats (see
timing.py); load average is printed before and after.
"""
import argparse
import itertools
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from timing import cpu_model, interleaved, load_average, pinned_threads  # noqa: E402

from which_minigrad import describe, import_minigrad  # noqa: E402

minigrad = import_minigrad()
from minigrad.kernels import dispatch  # noqa: E402

SHAPES = [(128, 784, 1024), (128, 1024, 1024)]   # (m, k, n): x is (m, k), w is (k, n)
P_DROP = 0.5
SETTLE_SECONDS = 0.15


def layer_contenders(rng, m, k, n):
    """{"forward"|"backward": {"fused"|"unfused": callable}} for one layer shape."""
    x = rng.standard_normal((m, k), dtype=np.float32)
    w = (rng.standard_normal((k, n), dtype=np.float32) / np.sqrt(k)).astype(np.float32)
    b = rng.standard_normal(n, dtype=np.float32) * np.float32(0.1)
    g = rng.standard_normal((m, n), dtype=np.float32)
    seeds = itertools.count(1)

    def forward_unfused():
        h = dispatch.relu_forward(dispatch.matmul(x, w) + b)
        return dispatch.dropout_forward(h, P_DROP, next(seeds))

    # The backward's inputs, made once: y from the fused forward, and the relu output
    # and mask the unfused backward needs (the fused one needs neither).
    relu_out = dispatch.relu_forward(dispatch.matmul(x, w) + b)
    y, mask = dispatch.dropout_forward(relu_out, P_DROP, 7)

    def backward_unfused():
        grad_in = dispatch.apply_dropout_mask(dispatch.relu_backward(g, relu_out), mask, P_DROP)
        return grad_in, grad_in.sum(axis=0)

    return {
        "forward": {
            "fused": lambda: dispatch.fused_linear_forward(x, w, b, relu=True, p=P_DROP,
                                                     seed=next(seeds)),
            "unfused": forward_unfused},
        "backward": {
            "fused": lambda: dispatch.fused_linear_backward(g, y, P_DROP),
            "unfused": backward_unfused},
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few repeats: a smoke test")
    parser.add_argument("--threads", default="1,2", help="thread counts, e.g. 1,2")
    args = parser.parse_args(argv)
    repeats, sample_time = (5, 0.005) if args.quick else (21, 0.03)
    info = minigrad.backend_info()
    model, cores = cpu_model()
    print(describe(minigrad))
    print(f"CPU: {model}, {cores} cores; kernels {info['kernels']}; "
          f"flags {info['compile_args']}")
    print(f"load average before: {load_average()}; repeats {repeats}; "
          "times: median [fastest-slowest] microseconds per call\n")
    rng = np.random.default_rng(0)
    for n_threads in (int(t) for t in args.threads.split(",")):
        settle = SETTLE_SECONDS if n_threads > 1 else 0.0
        with pinned_threads(n_threads, minigrad=minigrad):
            for m, k, n in SHAPES:
                for direction, fns in layer_contenders(rng, m, k, n).items():
                    stats = interleaved(fns, repeats=repeats, min_sample_time=sample_time,
                                        settle=settle)
                    cells = "  ".join(f"{name} {s.median * 1e6:8.1f} "
                                      f"[{s.min * 1e6:.1f}-{s.max * 1e6:.1f}]"
                                      for name, s in stats.items())
                    speedup = stats["unfused"].median / stats["fused"].median
                    print(f"{n_threads}t {direction:<8} {m}x{k} @ {k}x{n}: {cells}  "
                          f"unfused/fused {speedup:.2f}", flush=True)
    print(f"\nload average after: {load_average()}")


if __name__ == "__main__":
    main()
