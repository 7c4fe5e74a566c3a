"""Small, honest timing helpers shared by minigrad's bench scripts.

The rules they encode (see BENCHMARKING notes in bench/README.md):

* compare contenders in the same run, *interleaved* (A B C A B C ...), so that drift
  and other processes on a shared machine hit every contender alike;
* warm every contender up first (first calls pay for page faults, thread-pool start-up,
  BLAS kernel selection);
* report the median over repeats and the min-max spread, never a single number;
* pin the thread count of *every* library in the comparison, and print it;
* record the load average before and after;
* let numpy's OpenBLAS pick its own kernels (``without_openblas_overrides``) and print
  the ``architecture`` it got;
* with several threads, let the previous contender's thread pool go to sleep before
  timing the next one (``settle``): OpenBLAS's idle workers busy-wait for about 0.1 s
  (2**28 cycles) after each call, and a kernel timed in that window shares its cores
  with them (bench/README.md has the measurement that showed it).

Example::

    from timing import interleaved, pinned_threads
    with pinned_threads(2):
        stats = interleaved({"numpy": lambda: a @ b, "mine": lambda: mine(a, b)})
    print(stats["mine"].median, stats["numpy"].median)
"""
import json
import math
import os
import statistics
import sys
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field


@dataclass
class Stats:
    """Seconds per call of one contender: median and spread over the repeats."""
    median: float
    min: float
    max: float
    samples: list = field(repr=False)
    calls_per_sample: int = 1

    def rate(self, work):
        """(median, slowest, fastest) of ``work / seconds``, e.g. FLOP/s or elements/s."""
        return work / self.median, work / self.max, work / self.min


def _time_calls(fn, number):
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number


def calibrate(fn, min_sample_time):
    """How many back-to-back calls of ``fn`` take at least ``min_sample_time`` seconds."""
    number = 1
    while True:
        if _time_calls(fn, number) * number >= min_sample_time or number >= 1 << 20:
            return number
        number *= 2


def interleaved(contenders, repeats=15, warmup=3, min_sample_time=0.02, settle=0.0):
    """Time several callables fairly; return ``{name: Stats}`` (seconds per call).

    Each contender is called ``warmup`` times, then calibrated so that one sample
    (a batch of back-to-back calls) lasts at least ``min_sample_time``. Then ``repeats``
    rounds run; in each round every contender takes one sample, and the order of the
    contenders rotates from round to round (no one is always first after a pause).
    ``settle`` seconds of sleep precede every sample (and calibration), so that spinning
    worker threads of the previous contender do not steal the cores.
    """
    names = list(contenders)
    numbers = {}
    for name in names:
        time.sleep(settle)
        for _ in range(warmup):
            contenders[name]()
        numbers[name] = calibrate(contenders[name], min_sample_time)
    samples = {name: [] for name in names}
    for r in range(repeats):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            time.sleep(settle)
            samples[name].append(_time_calls(contenders[name], numbers[name]))
    return {name: Stats(statistics.median(s), min(s), max(s), s, numbers[name])
            for name, s in samples.items()}


def timed_blocks(fn, blocks=3, min_block_time=0.5, warmup=3, min_warmup_time=0.0):
    """Time ``fn`` (e.g. one training step) in ``blocks`` blocks of back-to-back calls.

    For contenders too slow or too stateful to interleave call by call (one process
    each). ``fn`` is called at least ``warmup`` times and for at least
    ``min_warmup_time`` seconds; the median warm-up call time sets the number of calls
    per block so that one block lasts about ``min_block_time``. Returns ``Stats`` of
    seconds per call over the blocks (``calls_per_sample`` = calls per block).
    """
    times = []
    start = time.perf_counter()
    while len(times) < warmup or time.perf_counter() - start < min_warmup_time:
        times.append(_time_calls(fn, 1))
    number = max(1, math.ceil(min_block_time / max(statistics.median(times), 1e-9)))
    # Re-estimate from a short trial block: warm-up times taken while the machine (or a
    # cold cache) was slower would otherwise make every block many times too long.
    trial = max(1, number // 4)
    number = max(1, math.ceil(min_block_time / max(_time_calls(fn, trial), 1e-9)))
    samples = [_time_calls(fn, number) for _ in range(blocks)]
    return Stats(statistics.median(samples), min(samples), max(samples), samples, number)


def blas_info():
    """numpy's BLAS as threadpoolctl sees it (kernel ``architecture``, threads), or a note.

    threadpoolctl (``pip install threadpoolctl``) is optional: without it the scripts
    still run, pinning BLAS threads through the environment variables only.
    """
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [{"note": "threadpoolctl not installed: BLAS kernel unknown"}]
    return [{k: i.get(k) for k in ("internal_api", "version", "architecture",
                                   "threading_layer", "num_threads")}
            for i in threadpool_info()]


# Variables that make OpenBLAS run kernels other than the ones it would pick for this CPU:
# the development machines set OPENBLAS_CORETYPE=Haswell (and OPENBLAS_L2_SIZE), which
# forces AVX2 kernels on an AVX-512 CPU (bench/README.md). OpenBLAS reads them once, when
# numpy loads it, so a contender measured with real OpenBLAS needs its own process.
OPENBLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def without_openblas_overrides(env):
    """``(env without OPENBLAS_OVERRIDES, {removed variable: its value})``."""
    removed = {k: env[k] for k in OPENBLAS_OVERRIDES if k in env}
    return {k: v for k, v in env.items() if k not in removed}, removed


# Set by ``reexec_without_openblas_overrides`` in the new process: what it removed (JSON)
REMOVED_OVERRIDES_VAR = "BENCH_REMOVED_OPENBLAS_OVERRIDES"


def reexec_without_openblas_overrides():
    """If any of OPENBLAS_OVERRIDES is set, run this program again without them, now.

    For a bench script that times numpy in its own process: OpenBLAS reads the variables
    when numpy loads it, so unsetting them in ``os.environ`` would change nothing; the
    process replaces itself (``os.execve``, the same interpreter, flags and arguments)
    with one started without them. What was removed is left in the new process's
    REMOVED_OVERRIDES_VAR (see ``removed_openblas_overrides``). Call it only in a program
    run from the command line: everything the process did before is lost.
    """
    env, removed = without_openblas_overrides(os.environ)
    if not removed:
        return
    print(f"{os.path.basename(sys.argv[0])}: running again without {removed}, so that "
          "numpy's OpenBLAS picks its own kernels for this CPU", flush=True)
    env[REMOVED_OVERRIDES_VAR] = json.dumps(removed)
    os.execve(sys.executable, sys.orig_argv, env)


def removed_openblas_overrides():
    """The OpenBLAS overrides that ``reexec_without_openblas_overrides`` removed ({} if none)."""
    return json.loads(os.environ.get(REMOVED_OVERRIDES_VAR, "{}"))


def blas_architecture(info):
    """The OpenBLAS kernel ``architecture`` in a ``blas_info()`` list, or None."""
    return next((i.get("architecture") for i in info if i.get("architecture")), None)


def limit_blas_threads(n):
    """Limit numpy's BLAS (and any OpenMP runtime) to ``n`` threads, now, by threadpoolctl.

    Returns the limit, a context manager that restores the old counts on exit; without
    threadpoolctl it is a no-op and only the environment variables pin the threads.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return nullcontext()
    return threadpool_limits(limits=n)


@contextmanager
def pinned_threads(n, minigrad=None, torch=None):
    """Run the block with every library's thread count set to ``n``; restore afterwards.

    Pins numpy's BLAS (and any OpenMP runtime) through threadpoolctl, minigrad's kernels
    through ``minigrad.set_num_threads`` and PyTorch through ``torch.set_num_threads``
    (pass the imported modules; None skips a library).
    """
    limits = limit_blas_threads(n)
    saved_mg = minigrad.get_num_threads() if minigrad else None
    saved_torch = torch.get_num_threads() if torch else None
    with limits:
        try:
            if minigrad:
                minigrad.set_num_threads(n)
            if torch:
                torch.set_num_threads(n)
            yield
        finally:
            if minigrad:
                minigrad.set_num_threads(saved_mg)
            if torch:
                torch.set_num_threads(saved_torch)


def load_average():
    """The 1, 5 and 15 minute load averages (None where the OS does not provide them)."""
    try:
        return os.getloadavg()
    except (AttributeError, OSError):
        return None


def cpu_fields():
    """The first processor's fields in /proc/cpuinfo (``model name``, ``cpu family``, ...)."""
    fields = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
    except OSError:
        pass
    return fields


def cpu_model():
    """The CPU model name and the number of cores this process may use."""
    model = cpu_fields().get("model name", "unknown")
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    return model, cores


# AMD's family numbers (what lscpu prints as "CPU family") of the cores seen on these machines
AMD_FAMILIES = {"23": "Zen 1/2", "25": "Zen 3/4", "26": "Zen 5"}


def cpu_label():
    """The CPU for a table's header: lscpu's model name, family and model, and cores.

    e.g. ``'AMD EPYC (family 23 model 1, Zen 1/2), 2 cores'``: the model name alone
    ("AMD EPYC") does not tell a Zen 1 from a Zen 5, the family does.
    """
    fields, (model, cores) = cpu_fields(), cpu_model()
    family = fields.get("cpu family", "?")
    zen = AMD_FAMILIES.get(family) if fields.get("vendor_id") == "AuthenticAMD" else None
    return (f"{model} (family {family} model {fields.get('model', '?')}"
            f"{', ' + zen if zen else ''}), {cores} cores")


def cpu_busy_seconds():
    """Machine-wide CPU seconds spent busy and stolen since boot, from /proc/stat.

    Returns ``(busy, steal)`` summed over all cores (None where /proc/stat is missing).
    Busy counts user, nice, system, irq and softirq time; steal is time the hypervisor
    gave our virtual cores to someone else. The difference between two readings, minus
    the CPU time of one's own processes (``resource.getrusage``), is the CPU that *other*
    processes used in between: a direct measure of how quiet the machine was.
    """
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    ticks = [int(v) for v in fields[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    user, nice, system, _idle, _iowait, irq, softirq = ticks[:7]
    steal = ticks[7] if len(ticks) > 7 else 0
    return (user + nice + system + irq + softirq) / hz, steal / hz


def thread_cpu_seconds():
    """``{thread id: CPU seconds}`` of every thread of this process, from /proc/self/task.

    Two readings around a measurement show how many threads did the work: a library
    pinned to one thread should show one busy thread, not a pool sharing one core.
    Returns {} where /proc is missing.
    """
    hz, seconds = os.sysconf("SC_CLK_TCK"), {}
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return {}
    for tid in tasks:
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()  # the name may hold spaces
        except OSError:  # the thread ended meanwhile
            continue
        seconds[tid] = (int(fields[11]) + int(fields[12])) / hz  # utime + stime
    return seconds


def busy_threads(before, after, wall, threshold=0.05):
    """How many threads used more than ``threshold`` of ``wall`` seconds of CPU between the
    ``thread_cpu_seconds()`` readings ``before`` and ``after``."""
    return sum((cpu - before.get(tid, 0.0)) > threshold * wall for tid, cpu in after.items())
