"""End-to-end training-step benchmark: minigrad against numpy by hand and PyTorch.

Usage::

    python bench/train_step.py                        # full suite (about 8 minutes)
    python bench/train_step.py --quick                # smoke test (< 30 s)
    python bench/train_step.py --self-check           # do the contenders do the same work?
    python bench/train_step.py --configs 784-256-256-10@128 --threads 2 \\
        --json out.json --markdown out.md

One training step of a dropout MLP (Srivastava et al., 2014)::

    Dropout(0.2) -> [Linear -> ReLU -> Dropout(0.5)] x L -> Linear,
    mean softmax cross-entropy, SGD(lr=0.01, momentum=0.9) PyTorch-style
    (v = m v + g; w -= lr v), then max-norm c = 3 on every unit's incoming weights

on a fixed float32 batch (inputs uniform in [0, 1), labels in [0, 10), seeded), in
four contenders:

* ``minigrad``: compiled kernels (MINIGRAD_REQUIRE_COMPILED=1), the model from
  ``minigrad.models.dropout_mlp``, ``minigrad.optim.SGD``, ``minigrad.cross_entropy``;
  step = zero_grad, forward (training mode), loss, backward, step.
* ``mg-numpy``: the same code on minigrad's numpy reference kernels
  (MINIGRAD_BACKEND=numpy; matmul is then numpy's OpenBLAS).
* ``numpy``: the same network written by hand in numpy (``HandMLP`` below): inverted
  dropout masks from ``Generator.random``, OpenBLAS matmuls, explicit backward.
* ``torch``: ``nn.Sequential`` of the same layers, ``torch.optim.SGD``,
  ``F.cross_entropy``, max-norm by ``torch.renorm`` of each weight row (PyTorch stores
  (out, in), so a row is a unit's incoming weights) under ``no_grad``.

Like ``dropout_mlp``, every Linear (the output layer too) carries the max-norm
constraint, in every contender.

Method: every (contender, network, batch, threads) measurement runs in its own child
process, so that peak RSS (``ru_maxrss``) is that contender's alone and no library's
thread pool lingers into another's measurement. Each child pins every thread pool
(environment variables, threadpoolctl, ``minigrad.set_num_threads``,
``torch.set_num_threads`` / ``set_num_interop_threads(1)``), builds its model, warms up,
times several blocks of back-to-back steps and prints one JSON line. The parent
interleaves the contenders (for each config, for each thread count, for each repeat,
for each contender, the order rotating between repeats) and reports, per cell, the
median over repeats of each child's median step time, with the slowest and fastest
repeat. It also measures how busy the machine was: CPU time that processes other than
this benchmark used during each measurement (``/proc/stat`` minus our own rusage).
"""
import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from timing import (blas_info, cpu_busy_seconds, cpu_model, load_average,  # noqa: E402
                    limit_blas_threads, timed_blocks)
from which_minigrad import (ENV_VAR as SOURCE_ENV_VAR, describe, describe_tree,  # noqa: E402
                            import_minigrad)

LIBS = ("minigrad", "mg-numpy", "numpy", "torch")
DEFAULT_CONFIGS = ("784-1024-1024-1024-10@64", "784-1024-1024-1024-10@128",
                   "784-1024-1024-1024-10@256", "784-256-256-10@128", "784-128-10@32")
QUICK_CONFIG = "784-128-10@32"
P_INPUT, P_HIDDEN = 0.2, 0.5
LR, MOMENTUM, MAX_NORM = 0.01, 0.9, 3.0
DATA_SEED, INIT_SEED, DROPOUT_SEED = 1234, 0, 1
RESULT_TAG = "TRAIN_STEP_RESULT "


def parse_config(text):
    """'784-256-256-10@128' -> ((784, 256, 256, 10), 128)."""
    try:
        net, batch = text.split("@")
        sizes = tuple(int(s) for s in net.split("-"))
        batch = int(batch)
    except ValueError:
        raise argparse.ArgumentTypeError(f"config {text!r} is not like 784-256-256-10@128")
    if len(sizes) < 2 or min(sizes) < 1 or batch < 1:
        raise argparse.ArgumentTypeError(f"config {text!r}: sizes and batch must be >= 1")
    return sizes, batch


def make_data(batch, in_features, classes, seed=DATA_SEED):
    rng = np.random.default_rng(seed)
    x = rng.random((batch, in_features), dtype=np.float32)
    y = rng.integers(0, classes, size=batch)
    return x, y


# ---- numpy by hand ---------------------------------------------------------------------
class HandMLP:
    """The dropout MLP, its backward pass and its SGD + max-norm update, in plain numpy.

    Weights are (in, out) like minigrad's: column j of ``W[i]`` is unit j's incoming
    weight vector. He initialisation, zero biases.
    """

    def __init__(self, sizes, p_input=P_INPUT, p_hidden=P_HIDDEN, max_norm=MAX_NORM,
                 lr=LR, momentum=MOMENTUM, seed=INIT_SEED, dropout_seed=DROPOUT_SEED,
                 dtype=np.float32):
        self.dtype = np.dtype(dtype).type
        rng = np.random.default_rng(seed)
        self.W = [rng.normal(0.0, math.sqrt(2.0 / fi), size=(fi, fo)).astype(dtype)
                  for fi, fo in zip(sizes[:-1], sizes[1:])]
        self.b = [np.zeros(fo, dtype=dtype) for fo in sizes[1:]]
        self.vW = [np.zeros_like(w) for w in self.W]
        self.vb = [np.zeros_like(b) for b in self.b]
        # drop probability of the Dropout in front of each Linear
        self.p = [p_input] + [p_hidden] * (len(self.W) - 1)
        self.max_norm, self.lr, self.momentum = max_norm, lr, momentum
        self.drop_rng = np.random.default_rng(dropout_seed)

    def loss_and_grads(self, x, y, masks=None):
        """Training-mode forward and backward; returns (loss, dW, db, keep-masks).

        ``masks``: optional list of keep-masks (or None) per Dropout, to replay them.
        """
        n = len(x)
        inputs, hidden, used = [], [], []  # each Linear's input; post-ReLU outputs
        h = x
        for i, (w, b) in enumerate(zip(self.W, self.b)):
            keep = masks[i] if masks is not None else None
            if keep is None and self.p[i] > 0:
                keep = self.drop_rng.random(h.shape, dtype=np.float32) >= self.p[i]
            if keep is not None:
                h = h * keep * self.dtype(1.0 / (1.0 - self.p[i]))
            used.append(keep)
            inputs.append(h)
            z = h @ w + b
            if i < len(self.W) - 1:
                h = np.maximum(z, 0)
                hidden.append(h)
        # mean softmax cross-entropy, through a stable log-softmax
        shifted = z - z.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        rows = np.arange(n)
        loss = -log_probs[rows, y].mean()
        dz = np.exp(log_probs)
        dz[rows, y] -= 1
        dz /= self.dtype(n)
        dW, db = [None] * len(self.W), [None] * len(self.W)
        for i in reversed(range(len(self.W))):
            dW[i] = inputs[i].T @ dz
            db[i] = dz.sum(axis=0)
            if i > 0:
                dh = dz @ self.W[i].T
                if used[i] is not None:
                    dh = dh * used[i] * self.dtype(1.0 / (1.0 - self.p[i]))
                dz = dh * (hidden[i - 1] > 0)
        return loss, dW, db, used

    def update(self, dW, db):
        """SGD with momentum (v = m v + g; w -= lr v), then max-norm on every W's columns."""
        lr, m = self.dtype(self.lr), self.dtype(self.momentum)
        for params, velocities, grads in ((self.W, self.vW, dW), (self.b, self.vb, db)):
            for p, v, g in zip(params, velocities, grads):
                v *= m
                v += g
                p -= lr * v
        if self.max_norm is not None:
            for w in self.W:
                norms = np.sqrt((w * w).sum(axis=0))
                w *= np.where(norms > self.max_norm, self.max_norm / norms, 1).astype(w.dtype)

    def step(self, x, y):
        loss, dW, db, _ = self.loss_and_grads(x, y)
        self.update(dW, db)
        return loss


# ---- the contenders (each imported only in its own child) -------------------------------
def build_minigrad(sizes, threads, max_norm=MAX_NORM, p_input=P_INPUT, p_hidden=P_HIDDEN):
    """(step function, model, optimizer, info) of the minigrad contender."""
    import minigrad
    from minigrad.models import dropout_mlp
    from minigrad.optim import SGD
    minigrad.set_num_threads(threads)
    model = dropout_mlp(sizes[0], sizes[1:-1], sizes[-1], p_input=p_input, p_hidden=p_hidden,
                        max_norm=max_norm, rng=INIT_SEED, dropout_rng=DROPOUT_SEED)
    model.train()
    opt = SGD(model.parameters(), lr=LR, momentum=MOMENTUM)

    def step(x, y):
        opt.zero_grad()
        loss = minigrad.cross_entropy(model(minigrad.Tensor(x)), y)
        loss.backward()
        opt.step()
        return loss

    return step, model, opt, {"minigrad_backend": minigrad.backend_info()}


def build_torch(sizes, threads, max_norm=MAX_NORM, p_input=P_INPUT, p_hidden=P_HIDDEN):
    """(step function, model, optimizer, info) of the PyTorch contender."""
    import torch
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(INIT_SEED)
    nn, F = torch.nn, torch.nn.functional
    layers = [nn.Dropout(p_input)] if p_input > 0 else []
    for i, (fi, fo) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(fi, fo))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
            if p_hidden > 0:
                layers.append(nn.Dropout(p_hidden))
    model = nn.Sequential(*layers).train()
    linears = [m for m in model if isinstance(m, nn.Linear)]
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        with torch.no_grad():  # max-norm: each row of an (out, in) weight is one unit's
            for lin in linears:
                lin.weight.copy_(torch.renorm(lin.weight, p=2, dim=0, maxnorm=max_norm))
        return loss

    info = {"torch": {"version": torch.__version__, "threads": torch.get_num_threads(),
                      "interop_threads": torch.get_num_interop_threads(),
                      "parallel": torch.__config__.parallel_info().splitlines()[:3]}}
    return step, model, opt, info


def run_child(args):
    """Measure one contender on one config; print one JSON line tagged RESULT_TAG."""
    sizes, batch = args.config
    threads = args.threads[0]
    limits = limit_blas_threads(threads)  # noqa: F841 (held for the whole process)
    if args.child == "torch":
        import torch  # noqa: F401
    elif args.child in ("minigrad", "mg-numpy"):
        import_minigrad()
        import minigrad.models  # noqa: F401
    rss_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    x, y = make_data(batch, sizes[0], sizes[-1])
    info = {}
    if args.child in ("minigrad", "mg-numpy"):
        step, *_, info = build_minigrad(sizes, threads)
        fn = lambda: step(x, y)  # noqa: E731
    elif args.child == "numpy":
        model = HandMLP(sizes)
        fn = lambda: model.step(x, y)  # noqa: E731
    elif args.child == "torch":
        import torch
        tx, ty = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
        step, *_, info = build_torch(sizes, threads)
        fn = lambda: step(tx, ty)  # noqa: E731
    else:
        raise SystemExit(f"unknown contender {args.child!r}")
    if args.child in ("mg-numpy", "numpy"):
        # A fresh OpenBLAS runs small one-thread products slower until one larger
        # product has run (bench/README.md, "Cold OpenBLAS"): run one before the warm-up.
        a = np.ones((512, 512), dtype=np.float32)
        a @ a
    rss_setup = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    stats = timed_blocks(fn, blocks=args.blocks, min_block_time=args.block_time,
                         warmup=5, min_warmup_time=args.warmup_time)
    loss = float(fn().item())  # one more step: its loss, to show training stays finite
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    result = {
        "lib": args.child, "sizes": sizes, "batch": batch, "threads": threads,
        "step_s": {"median": stats.median, "min": stats.min, "max": stats.max,
                   "blocks": stats.samples, "steps_per_block": stats.calls_per_sample},
        "samples_per_s": batch / stats.median,
        "peak_rss_kib": peak, "rss_after_imports_kib": rss_start,
        "rss_after_setup_kib": rss_setup, "final_loss": loss,
        "blas": blas_info(), "numpy": np.__version__, **info,
        "env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                               "MKL_NUM_THREADS", "MINIGRAD_BACKEND",
                                               "MINIGRAD_REQUIRE_COMPILED",
                                               "MINIGRAD_NUM_THREADS")},
    }
    print(RESULT_TAG + json.dumps(result), flush=True)


# ---- parent: run the children ------------------------------------------------------------
def child_env(lib, threads):
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "MINIGRAD_NUM_THREADS"):
        env[var] = str(threads)
    for var in ("MINIGRAD_BACKEND", "MINIGRAD_REQUIRE_COMPILED", "MINIGRAD_MATMUL"):
        env.pop(var, None)
    if lib == "minigrad":
        env.update(MINIGRAD_BACKEND="compiled", MINIGRAD_REQUIRE_COMPILED="1")
    elif lib == "mg-numpy":
        env["MINIGRAD_BACKEND"] = "numpy"
    return env


def run_measurement(lib, config_text, threads, args):
    """Run one child; return its result dict plus the machine's busyness meanwhile.

    The ``baseline`` contender is minigrad again, from another source tree
    (``--baseline TREE``, built in place): that tree's own copy of this script measures
    it, so an old commit runs its own benchmark code against its own package.
    """
    script, child, env, cwd = os.path.abspath(__file__), lib, child_env(lib, threads), ROOT
    if lib == "baseline":
        script = os.path.join(args.baseline, "bench", "train_step.py")
        child, env, cwd = "minigrad", child_env("minigrad", threads), args.baseline
        env[SOURCE_ENV_VAR] = "1"
    cmd = [sys.executable, script, "--child", child,
           "--configs", config_text, "--threads", str(threads),
           "--block-time", str(args.block_time), "--blocks", str(args.blocks),
           "--warmup-time", str(args.warmup_time)]
    ours = lambda: sum(resource.getrusage(who).ru_utime + resource.getrusage(who).ru_stime  # noqa: E731
                       for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    busy0, own0, t0 = cpu_busy_seconds(), ours(), time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=cwd)
    wall = time.perf_counter() - t0
    busy1, own1 = cpu_busy_seconds(), ours()
    lines = [line for line in proc.stdout.splitlines() if line.startswith(RESULT_TAG)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{lib} {config_text} {threads}t failed (exit {proc.returncode}):\n"
                           f"{proc.stdout}\n{proc.stderr}")
    result = json.loads(lines[-1][len(RESULT_TAG):])
    result["lib"] = lib
    result["wall_s"] = wall
    result["stderr"] = proc.stderr.strip()[-2000:]
    if busy0 and busy1:
        # other processes' CPU use, in cores, averaged over this child's lifetime
        result["foreign_cores"] = max(0.0, (busy1[0] - busy0[0]) - (own1 - own0)) / wall
        result["steal_cores"] = (busy1[1] - busy0[1]) / wall
    return result


def summarize(results, config_text, threads, lib):
    rs = [r for r in results if r["config"] == config_text and r["threads"] == threads
          and r["lib"] == lib]
    if not rs:
        return None
    rates = [r["samples_per_s"] for r in rs]
    peaks = [r["peak_rss_kib"] / 1024 for r in rs]
    return {"samples_per_s": statistics.median(rates), "min": min(rates), "max": max(rates),
            "peak_rss_mib": statistics.median(peaks),
            "rss_after_imports_mib": statistics.median(r["rss_after_imports_kib"] / 1024
                                                       for r in rs),
            "foreign_cores_max": max(r.get("foreign_cores", 0.0) for r in rs),
            "repeats": len(rs)}


def fmt_load(load):
    return "unavailable" if load is None else " ".join(f"{v:.2f}" for v in load)


def ratio(a, b):
    return f"{a / b:.2f}" if a and b else "-"


def tables(summary, configs, threads_list, libs):
    """Markdown tables: throughput (samples/s) and peak RSS (MiB)."""
    versus = [peer for peer in ("torch", "baseline") if peer in libs and "minigrad" in libs]
    head = ["network", "batch", "thr"] + list(libs) + [f"minigrad/{peer}" for peer in versus]
    thr_head = head + ["others' CPU"]
    thr_lines = ["| " + " | ".join(thr_head) + " |", "|" + "---|" * len(thr_head)]
    mem_lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for config_text in configs:
        net, batch = config_text.split("@")
        for threads in threads_list:
            row = [summary.get((config_text, threads, lib)) for lib in libs]
            cells = [net, batch, str(threads)]
            thr = cells + [f"{s['samples_per_s']:.0f} [{s['min']:.0f}-{s['max']:.0f}]"
                           if s else "-" for s in row]
            mem = cells + [f"{s['peak_rss_mib']:.0f} ({s['rss_after_imports_mib']:.0f})"
                           if s else "-" for s in row]
            mg = summary.get((config_text, threads, "minigrad"))
            for peer in versus:
                other = summary.get((config_text, threads, peer))
                thr.append(ratio(mg and mg["samples_per_s"], other and other["samples_per_s"]))
                mem.append(ratio(mg and mg["peak_rss_mib"], other and other["peak_rss_mib"]))
            thr.append(f"{max(s['foreign_cores_max'] for s in row if s):.2f}")
            thr_lines.append("| " + " | ".join(thr) + " |")
            mem_lines.append("| " + " | ".join(mem) + " |")
    return "\n".join(thr_lines), "\n".join(mem_lines)


def torch_available():
    try:
        import importlib.util
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        return False


def others_cpu(window=2.0):
    """Cores' worth of CPU that other processes used over the next ``window`` seconds."""
    own = lambda: sum(resource.getrusage(resource.RUSAGE_SELF)[:2])  # noqa: E731
    b0, o0 = cpu_busy_seconds(), own()
    time.sleep(window)
    b1, o1 = cpu_busy_seconds(), own()
    return None if not (b0 and b1) else max(0.0, (b1[0] - b0[0]) - (o1 - o0)) / window


def wait_until_quiet(timeout, threshold=0.15, quiet_windows=5):
    """Wait until other processes used < ``threshold`` cores in ``quiet_windows``
    consecutive 2-second windows and the 1-minute load is <= 1 (or ``timeout`` s pass)."""
    deadline, quiet = time.time() + timeout, 0
    while True:
        busy = others_cpu()
        if busy is None:
            return None
        quiet = quiet + 1 if busy < threshold else 0
        load = load_average()
        if quiet >= quiet_windows and (load is None or load[0] <= 1.0):
            return busy
        if time.time() > deadline:
            print(f"still busy after {timeout:.0f} s ({busy:.2f} cores used by others); "
                  "measuring anyway")
            return busy
        if not quiet:
            print(f"waiting for a quiet machine: others use {busy:.2f} cores", flush=True)
            time.sleep(5)


def run_parent(args):
    if args.wait_quiet:
        wait_until_quiet(args.wait_quiet)
    libs = [lib for lib in args.libs if lib != "torch" or torch_available()]
    if args.baseline:
        libs.append("baseline")
    configs = [QUICK_CONFIG] if args.quick else args.config_texts
    repeats = 1 if args.quick else args.repeats
    model, cores = cpu_model()
    env = {"cpu": model, "cores": cores, "python": platform.python_version(),
           "numpy": np.__version__, "load_before": load_average(), "argv": sys.argv[1:],
           "block_time": args.block_time, "blocks": args.blocks, "repeats": repeats}
    print(f"CPU: {model}, {cores} cores; python {env['python']}, numpy {np.__version__}")
    if {"minigrad", "mg-numpy"} & set(libs):
        env["minigrad_imported"] = describe(import_minigrad())
        print(env["minigrad_imported"])
    if args.baseline:
        env["baseline"] = describe_tree(args.baseline)
        print(f"baseline: {env['baseline']}")
    print(f"load average before: {fmt_load(env['load_before'])}")
    if env["load_before"] and env["load_before"][0] > 1.0:
        print("WARNING: the machine is busy (1-minute load > 1); figures, the two-thread "
              "ones above all, will be low and noisy.")
    print(f"contenders {libs}; threads {args.threads}; {repeats} repeat(s), each child: "
          f"warm-up >= {args.warmup_time} s, {args.blocks} blocks of >= {args.block_time} s\n")
    results, t_start = [], time.perf_counter()
    for config_text in configs:
        for threads in args.threads:
            for rep in range(repeats):
                order = libs[rep % len(libs):] + libs[:rep % len(libs)]
                for lib in order:
                    r = run_measurement(lib, config_text, threads, args)
                    r.update(config=config_text, repeat=rep)
                    results.append(r)
                    step = r["step_s"]
                    print(f"{config_text:<26} {threads}t rep {rep} {lib:<9} "
                          f"{r['samples_per_s']:9.0f} samples/s  step {step['median'] * 1e3:8.2f} ms "
                          f"[{step['min'] * 1e3:.2f}-{step['max'] * 1e3:.2f}] "
                          f"x{step['steps_per_block']:<4} peak RSS {r['peak_rss_kib'] / 1024:6.0f} MiB  "
                          f"others' CPU {r.get('foreign_cores', float('nan')):.2f} cores  "
                          f"({r['wall_s']:.1f} s)", flush=True)
    env["load_after"] = load_average()
    env["wall_s"] = time.perf_counter() - t_start
    foreign = [r["foreign_cores"] for r in results if "foreign_cores" in r]
    env["foreign_cores_mean"] = statistics.fmean(foreign) if foreign else None
    env["foreign_cores_max"] = max(foreign) if foreign else None
    first = {r["lib"]: r for r in results}
    for lib in ("minigrad", "mg-numpy"):
        if lib in first:
            env[f"{lib}_backend_info"] = first[lib].get("minigrad_backend")
    if "torch" in first:
        env["torch"] = first["torch"].get("torch")
    env["blas"] = first[libs[0]]["blas"] if results else None

    summary = {(c, t, lib): summarize(results, c, t, lib)
               for c in configs for t in args.threads for lib in libs}
    thr_table, mem_table = tables(summary, configs, args.threads, libs)
    kernels = (env.get("minigrad_backend_info") or {}).get("kernels")
    header = (f"CPU: {model}, {cores} cores. Load average before {fmt_load(env['load_before'])}, "
              f"after {fmt_load(env['load_after'])}; CPU used by other processes during the "
              f"measurements: mean {env['foreign_cores_mean'] or 0:.2f} cores, "
              f"max {env['foreign_cores_max'] or 0:.2f}. {repeats} repeat(s) per cell, "
              f"run time {env['wall_s']:.0f} s. minigrad kernels: {kernels}.")
    text = (f"{header}\n\nTraining throughput, samples/s: median over repeats "
            f"[slowest-fastest repeat]; others' CPU: the most CPU (in cores, averaged over "
            f"one child) that other processes used during any measurement of the row\n\n"
            f"{thr_table}\n\nPeak RSS of the process, MiB "
            f"(in parentheses: RSS after imports, before building the model)\n\n{mem_table}\n")
    print("\n" + text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"environment": env, "results": results,
                       "summary": [{"config": c, "threads": t, "lib": lib, **s}
                                   for (c, t, lib), s in summary.items() if s]},
                      f, indent=1, default=str)


# ---- self-check: do the contenders compute the same step? ------------------------------
def self_check():
    """Assert that minigrad, HandMLP and torch do the same arithmetic; print what passed."""
    minigrad = import_minigrad()
    print(describe(minigrad))
    from minigrad.nn import forward_with_masks
    print("minigrad backend:", minigrad.get_backend(), minigrad.backend_info()["kernels"])
    sizes, batch = (784, 64, 48, 10), 32
    x, y = make_data(batch, sizes[0], sizes[-1])

    # 1. Without dropout, same weights: same loss at every step and the same weights
    #    after the steps. c = 1 < the He-init column norms (about 1.4), so the max-norm
    #    projection is active; three steps exercise the momentum.
    c = 1.0
    step_mg, model, _, _ = build_minigrad(sizes, 1, max_norm=c, p_input=0, p_hidden=0)
    hand = HandMLP(sizes, p_input=0, p_hidden=0, max_norm=c)
    linears = [m for m in model.modules() if type(m).__name__ == "Linear"]
    for i, lin in enumerate(linears):
        hand.W[i][...] = lin.weight.data
        hand.b[i][...] = lin.bias.data
    torch = None
    if torch_available():
        import torch
        step_t, tmodel, _, _ = build_torch(sizes, 1, max_norm=c, p_input=0, p_hidden=0)
        tlin = [m for m in tmodel if isinstance(m, torch.nn.Linear)]
        with torch.no_grad():
            for lin, t in zip(linears, tlin):
                t.weight.copy_(torch.from_numpy(lin.weight.data.T.copy()))
                t.bias.copy_(torch.from_numpy(lin.bias.data))
        tx, ty = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
    for s in range(3):
        l_mg = step_mg(x, y).item()
        l_hand = float(hand.step(x, y))
        l_t = step_t(tx, ty).item() if torch else l_hand
        print(f"p=0 step {s}: loss minigrad {l_mg:.7f}  numpy {l_hand:.7f}"
              + (f"  torch {l_t:.7f}" if torch else ""))
        assert math.isclose(l_mg, l_hand, rel_tol=1e-5), (l_mg, l_hand)
        assert math.isclose(l_t, l_hand, rel_tol=1e-5), (l_t, l_hand)
    for i, lin in enumerate(linears):
        np.testing.assert_allclose(lin.weight.data, hand.W[i], rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(lin.bias.data, hand.b[i], rtol=1e-4, atol=1e-6)
        assert np.linalg.norm(hand.W[i], axis=0).max() <= c * (1 + 1e-5)
        if torch:
            np.testing.assert_allclose(tlin[i].weight.detach().numpy().T, hand.W[i],
                                       rtol=1e-4, atol=1e-6)
            np.testing.assert_allclose(tlin[i].bias.detach().numpy(), hand.b[i],
                                       rtol=1e-4, atol=1e-6)
    print("ok: minigrad" + (", torch" if torch else "") + " and hand numpy agree on 3 steps "
          "without dropout (losses, weights after SGD momentum + max-norm)")

    # 2. With dropout: HandMLP's masks replayed in minigrad give the same loss and grads.
    _, model, opt, _ = build_minigrad(sizes, 1)
    hand = HandMLP(sizes)
    linears = [m for m in model.modules() if type(m).__name__ == "Linear"]
    for i, lin in enumerate(linears):
        hand.W[i][...] = lin.weight.data
    loss_h, dW, db, masks = hand.loss_and_grads(x, y)
    opt.zero_grad()
    out, _ = forward_with_masks(model, minigrad.Tensor(x), masks)
    loss_m = minigrad.cross_entropy(out, y)
    loss_m.backward()
    assert math.isclose(loss_m.item(), float(loss_h), rel_tol=1e-5), (loss_m.item(), loss_h)
    for i, lin in enumerate(linears):
        np.testing.assert_allclose(lin.weight.grad, dW[i], rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(lin.bias.grad, db[i], rtol=1e-4, atol=1e-6)
    print(f"ok: with dropout masks replayed, minigrad and hand numpy agree "
          f"(loss {float(loss_h):.6f}, all gradients)")

    # 3. HandMLP's backward against central finite differences (float64, masks fixed).
    small, xs, ys = (7, 6, 5, 3), *make_data(4, 7, 3)
    net = HandMLP(small, dtype=np.float64)
    xs = xs.astype(np.float64)
    for b in net.b:  # nonzero biases: with zero ones, a row whose inputs were all dropped
        b[...] = np.random.default_rng(5).normal(0, 0.1, b.shape)  # sits on ReLU's kink
    _, dW, db, masks = net.loss_and_grads(xs, ys)
    eps, worst = 1e-6, 0.0
    for params, grads in ((net.W, dW), (net.b, db)):
        for p, g in zip(params, grads):
            for idx in np.ndindex(p.shape):
                old = p[idx]
                p[idx] = old + eps
                up = net.loss_and_grads(xs, ys, masks)[0]
                p[idx] = old - eps
                down = net.loss_and_grads(xs, ys, masks)[0]
                p[idx] = old
                worst = max(worst, abs((up - down) / (2 * eps) - g[idx]))
    assert worst < 1e-7, worst
    print(f"ok: hand numpy gradients match finite differences (max abs error {worst:.1e})")

    # 4. Dropout keep rates of HandMLP: 0.8 for the input, 0.5 for hidden units.
    big = HandMLP((784, 1024, 10))
    _, _, _, masks = big.loss_and_grads(*make_data(256, 784, 10))
    rates = [float(m.mean()) for m in masks]
    assert abs(rates[0] - 0.8) < 0.01 and abs(rates[1] - 0.5) < 0.01, rates
    print(f"ok: hand numpy keep rates {rates[0]:.3f} (input), {rates[1]:.3f} (hidden)")
    print("self-check passed")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke test: only {QUICK_CONFIG}, 1 repeat, short blocks")
    parser.add_argument("--self-check", action="store_true",
                        help="check that the contenders compute the same step, then exit")
    parser.add_argument("--configs", nargs="+", default=list(DEFAULT_CONFIGS),
                        metavar="NET@BATCH", help="e.g. 784-256-256-10@128 (default: all of "
                        + ", ".join(DEFAULT_CONFIGS) + ")")
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--libs", nargs="+", default=list(LIBS), choices=LIBS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--blocks", type=int, default=3, help="timed blocks per child")
    parser.add_argument("--block-time", type=float, default=None,
                        help="seconds per timed block (default 0.5, quick 0.2)")
    parser.add_argument("--warmup-time", type=float, default=None,
                        help="minimum warm-up seconds per child (default 0.3, quick 0.1)")
    parser.add_argument("--json", metavar="PATH", help="write all results as JSON")
    parser.add_argument("--markdown", metavar="PATH", help="write the tables as Markdown")
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS",
                        help="before starting, wait up to SECONDS for other processes to "
                        "use < 0.15 cores")
    parser.add_argument("--baseline", metavar="TREE",
                        help="also measure minigrad from another source tree built in place "
                        "(e.g. a git worktree of an older commit), with that tree's own copy "
                        "of this script: a before/after comparison in one run")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.block_time is None:
        args.block_time = 0.2 if args.quick else 0.5
    if args.warmup_time is None:
        args.warmup_time = 0.1 if args.quick else 0.3
    if args.quick:
        args.blocks = min(args.blocks, 2)
    for c in args.configs:
        parse_config(c)
    if args.baseline:
        args.baseline = os.path.abspath(args.baseline)
        if not os.path.isfile(os.path.join(args.baseline, "bench", "train_step.py")):
            parser.error(f"--baseline {args.baseline}: no bench/train_step.py there")
    args.config_texts = args.configs
    if args.self_check:
        self_check()
    elif args.child:
        args.config = parse_config(args.configs[0])
        run_child(args)
    else:
        run_parent(args)


if __name__ == "__main__":
    main()
