"""Leak check: train a small dropout MLP for many steps and watch the resident memory.

    python bench/leak_check.py                 # 10,000 steps, RSS every 1,000
    python bench/leak_check.py --steps 3000 --threads 1

A 784-256-256-10 MLP with dropout (0.2 on the inputs, 0.5 on the hidden units) and
max-norm 3 on every weight matrix is trained by SGD with momentum 0.9 on random
"images" (a fixed pool of 4,096, float32), batch 64: every step runs every kernel
(GEMM in all three transpose variants, ReLU, dropout forward and backward, max-norm)
and the whole autograd graph is built and dropped.

The process's resident set size (VmRSS) is printed every ``--every`` steps. Memory
grows during warm-up (allocator arenas, OpenMP thread stacks, numpy's small-block
cache); after it, a steady loop allocates and frees the same blocks, so RSS must stay
flat. The exit status is 1 when RSS after the last step exceeds RSS at the end of
warm-up (``--warmup`` steps, default 1,000) by more than ``--margin-mb`` (default 4 MiB).
A leak of one 64x256 float32 activation per step (64 KiB) would add ~560 MiB over
9,000 steps; one leaked small Python object per step (~100 bytes) ~1 MiB, which
the margin tolerates, and which the tracemalloc check in ``tests/autograd/test_leaks.py`` catches.
Linux only (reads ``/proc/self/statm``).
"""
import argparse
import gc
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from which_minigrad import describe, import_minigrad  # noqa: E402

mg = import_minigrad()
from minigrad import nn  # noqa: E402
from minigrad.optim import SGD  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mib():
    """The resident set size of this process in MiB (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 2**20


def make_run(seed=0, hidden=256, batch=64, pool=4096):
    """Model, optimizer and a ``step()`` closure training on random data."""
    mg.manual_seed(seed)
    rng = np.random.default_rng(seed)
    x_pool = rng.random((pool, 784), dtype=np.float32)
    y_pool = rng.integers(0, 10, size=pool)
    model = nn.Sequential(
        nn.Dropout(0.2),
        nn.Linear(784, hidden, max_norm=3.0), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(hidden, hidden, max_norm=3.0), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(hidden, 10, max_norm=3.0),
    )
    optimizer = SGD(model.parameters(), lr=0.05, momentum=0.9)

    def step():
        idx = rng.integers(0, pool, size=batch)
        loss = mg.cross_entropy(model(mg.tensor(x_pool[idx])), y_pool[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return float(loss.data)

    return model, step


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--every", type=int, default=1_000, help="print RSS every N steps")
    parser.add_argument("--warmup", type=int, default=1_000,
                        help="steps before the baseline RSS is taken")
    parser.add_argument("--margin-mb", type=float, default=4.0,
                        help="allowed RSS growth after warm-up, MiB")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if not 0 < args.warmup < args.steps:
        parser.error("need 0 < --warmup < --steps")
    if args.threads is not None:
        mg.set_num_threads(args.threads)

    info = mg.backend_info()
    print(describe(mg))
    print(f"leak_check: {args.steps} steps, 784-256-256-10 dropout MLP, batch 64; kernels "
          f"{info['kernels']}, {info['num_threads']} threads", flush=True)
    start_rss = rss_mib()
    print(f"step {0:>6}  RSS {start_rss:8.1f} MiB  (before building the model)", flush=True)
    _, step = make_run()
    baseline = None
    started = time.perf_counter()
    for i in range(1, args.steps + 1):
        loss = step()
        if i == args.warmup or i % args.every == 0 or i == args.steps:
            gc.collect()
            rss = rss_mib()
            if i == args.warmup:
                baseline = rss
            note = "  <- baseline (end of warm-up)" if i == args.warmup else ""
            print(f"step {i:>6}  RSS {rss:8.1f} MiB  loss {loss:.3f}  "
                  f"{time.perf_counter() - started:6.1f} s{note}", flush=True)
    final = rss_mib()
    growth = final - baseline
    print(f"RSS before: {start_rss:.1f} MiB; after warm-up ({args.warmup} steps): "
          f"{baseline:.1f} MiB; after {args.steps} steps: {final:.1f} MiB; growth after "
          f"warm-up: {growth:+.1f} MiB (margin {args.margin_mb:g} MiB)")
    if growth > args.margin_mb:
        print("leak_check: FAIL, memory grows after warm-up", file=sys.stderr)
        return 1
    print("leak_check: OK, no growth beyond the margin")
    return 0


if __name__ == "__main__":
    sys.exit(main())
