"""No leaks: a training loop's memory stays flat after warm-up (quick version of bench/leak_check.py).

Two complementary checks on 300 steps of a small dropout MLP with SGD momentum and
max-norm (every kernel runs each step):

* tracemalloc (Python objects and numpy arrays, which numpy reports to tracemalloc):
  after 100 warm-up steps, 200 more steps may not grow the traced memory by more than
  256 KiB. Keeping one activation or graph per step alive would add ~6 MiB.
* RSS (also sees raw ``malloc`` in the compiled kernels, e.g. GEMM's packing buffers,
  ~0.3 MiB a call): the growth over the same 200 steps must stay under 16 MiB; a leaked
  packing buffer per product would add ~360 MiB.
"""
import gc
import os
import sys
import tracemalloc

import pytest

from support.paths import BENCH

sys.path.insert(0, str(BENCH))
from leak_check import make_run, rss_mib  # noqa: E402

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/statm"),
                                reason="RSS is read from /proc (Linux)")


def test_training_loop_memory_is_flat_after_warm_up():
    _, step = make_run(seed=1, hidden=128, batch=64, pool=512)
    for _ in range(100):
        step()
    gc.collect()
    rss_before = rss_mib()
    tracemalloc.start()
    try:
        for _ in range(20):  # a few traced steps so tracemalloc's own tables settle
            step()
        gc.collect()
        traced_before, _ = tracemalloc.get_traced_memory()
        for _ in range(180):
            step()
        gc.collect()
        traced_after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    rss_growth = rss_mib() - rss_before
    assert traced_after - traced_before < 256 * 1024, (traced_before, traced_after)
    assert rss_growth < 16, rss_growth
