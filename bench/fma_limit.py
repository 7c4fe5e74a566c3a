"""The machine's fp32 FMA limit: the 100% that GEMM and training throughput are measured against.

The CPU behind the development machines changes between sessions (Zen 1 without AVX-512 at
~40 GFLOP/s fp32 per core, Zen 5 at ~260), so an absolute GFLOP/s figure says little on
its own; as a fraction of the limit measured the same day it says a lot. The limit is the
rate of independent fused multiply-adds at the CPU's widest vector width (2 FLOPs per lane
per FMA), on 1 core and on all cores at once: no real kernel exceeds it.

Where the number comes from, first match wins (``resolve``):

1. ``--fma-limit GFLOPS_1CORE,GFLOPS_ALLCORES``: numbers measured earlier, e.g.
   ``--fma-limit 40.1,79.8``;
2. ``--fma-peak PATH``: a probe script run as ``python PATH --json``, which prints one JSON
   object with ``fp32_gflops_1core``, ``fp32_gflops_all_cores`` and ``cores``;
3. the shared probe beside the repository, ``ROOT/../shared/tools/fma_peak.py``, when that
   file exists (it takes about 10 s of every core);
4. nothing: the limit is "not measured" and every fraction prints as "-". minigrad does not
   depend on ``../shared``; the bench scripts only use it when it is there.

Which limit a measurement at ``t`` threads is held against (``FmaLimit.for_threads``): the
all-cores figure when ``t`` equals the number of cores the probe ran on, otherwise ``t``
times the 1-core figure (all cores at once may run at a lower clock than one alone, so the
all-cores figure is the honest one when every core is used).

>>> limit = parse_numbers("40,78")
>>> limit.for_threads(1), limit.for_threads(2)
((40.0, '1 x 1-core'), (78.0, 'all 2 cores'))
>>> fmt_fraction(limit.fraction(30.0, 1)), fmt_fraction(None)
('75%', '-')
"""
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Optional

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHARED_PROBE = os.path.join(ROOT, "..", "shared", "tools", "fma_peak.py")
NOT_MEASURED = "FMA limit not measured"


@dataclass(frozen=True)
class FmaLimit:
    """fp32 FMA limit in GFLOP/s on 1 core and on ``cores`` cores at once; ``source`` says how
    it was obtained (the probe's path, or the numbers given on the command line)."""
    gflops_1core: float
    gflops_all_cores: float
    cores: int
    source: str

    def for_threads(self, threads):
        """``(GFLOP/s, which figure)``: the limit of a run on ``threads`` threads."""
        if threads == self.cores:
            return self.gflops_all_cores, f"all {self.cores} cores"
        return threads * self.gflops_1core, f"{threads} x 1-core"

    def fraction(self, gflops, threads):
        """``gflops`` as a fraction of the limit at ``threads`` threads (None if unknown)."""
        return None if gflops is None else gflops / self.for_threads(threads)[0]

    def describe(self):
        return (f"fp32 FMA limit {self.gflops_1core:.1f} GFLOP/s on 1 core, "
                f"{self.gflops_all_cores:.1f} on {self.cores} cores ({self.source})")


def parse_numbers(text, cores=None):
    """``"40.1,79.8"`` -> the ``FmaLimit`` of those figures (1 core, all ``cores`` cores; the
    cores default to those this process may use)."""
    try:
        one, every = (float(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"--fma-limit {text!r} is not like 40.1,79.8 "
                         "(GFLOP/s on 1 core, on all cores)") from None
    if not (one > 0 and every > 0):
        raise ValueError(f"--fma-limit {text!r}: both figures must be > 0")
    cores = cores or len(os.sched_getaffinity(0))
    return FmaLimit(one, every, cores, f"given as --fma-limit {text}")


def measure(script):
    """Run the probe ``script`` (``python script --json``) and return its ``FmaLimit``.

    Raises RuntimeError when it fails or prints no usable JSON object.
    """
    proc = subprocess.run([sys.executable, script, "--json"], capture_output=True, text=True)
    lines = proc.stdout.strip().splitlines()
    try:
        res = json.loads(lines[-1])
        return FmaLimit(float(res["fp32_gflops_1core"]), float(res["fp32_gflops_all_cores"]),
                        int(res["cores"]), f"measured by {os.path.normpath(script)}")
    except (IndexError, ValueError, KeyError, TypeError) as e:
        raise RuntimeError(f"{script} --json (exit {proc.returncode}) gave no FMA limit: "
                           f"{e!r}\n{proc.stdout}{proc.stderr}") from None


def resolve(numbers=None, script=None, default_script=SHARED_PROBE):
    """The ``FmaLimit`` from the numbers, else the script, else ``default_script`` if that
    file exists; None when there is none of them. A failing probe is reported, not fatal."""
    if numbers:
        return parse_numbers(numbers)
    script = script or (default_script if default_script and os.path.isfile(default_script)
                        else None)
    if script is None:
        return None
    try:
        return measure(script)
    except RuntimeError as e:
        print(f"{NOT_MEASURED}: {e}", file=sys.stderr)
        return None


def add_arguments(parser):
    """Add ``--fma-limit`` and ``--fma-peak`` to an argparse parser."""
    parser.add_argument("--fma-limit", metavar="GFLOPS_1CORE,GFLOPS_ALLCORES",
                        help="the fp32 FMA limit, measured earlier (skips the probe)")
    parser.add_argument("--fma-peak", metavar="PATH",
                        help="probe script printing the FMA limit as JSON with --json "
                        "(default: ../shared/tools/fma_peak.py beside the repository, "
                        "when it exists)")


def describe(limit):
    """One line for a table's header."""
    return NOT_MEASURED if limit is None else limit.describe()


def fraction_at(limit, gflops, threads) -> Optional[float]:
    """``gflops`` as a fraction of ``limit`` at ``threads`` threads; None without a limit."""
    return None if limit is None else limit.fraction(gflops, threads)


def fmt_fraction(fraction):
    """0.523 -> ``'52%'``; None -> ``'-'``."""
    return "-" if fraction is None else f"{100 * fraction:.0f}%"
