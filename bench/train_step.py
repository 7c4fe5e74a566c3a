"""End-to-end training-step benchmark: minigrad against numpy by hand, PyTorch and JAX.

Usage::

    python bench/train_step.py                        # full suite (about 10 minutes)
    python bench/train_step.py --quick                # smoke test (< 30 s)
    python bench/train_step.py --self-check           # do the contenders do the same work?
    python bench/train_step.py --configs 784-256-256-10@128 --threads 2 \\
        --json out.json --markdown out.md
    python bench/train_step.py --fma-limit 40.1,79.8  # the FMA limit, measured earlier
    python bench/train_step.py --render run.json --markdown run.md  # tables of a saved run

One training step of a dropout MLP (Srivastava et al., 2014)::

    Dropout(0.2) -> [Linear -> ReLU -> Dropout(0.5)] x L -> Linear,
    mean softmax cross-entropy, SGD(lr=0.01, momentum=0.9) PyTorch-style
    (v = m v + g; w -= lr v), then max-norm c = 3 on every unit's incoming weights

on a fixed float32 batch (inputs uniform in [0, 1), labels in [0, 10), seeded), in
five contenders:

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
* ``jax`` (when jax is installed): the same network as pure functions, the whole step
  (forward, ``jax.grad``, momentum, max-norm, fresh ``jax.random`` masks from a key split
  inside the step) one ``jax.jit`` program with the parameters and velocities donated
  (``jax_functions``); He init from HandMLP's seed.

Like ``dropout_mlp``, every Linear (the output layer too) carries the max-norm
constraint, in every contender.

Method: every (contender, network, batch, threads) measurement runs in its own child
process, so that peak RSS (``ru_maxrss``) is that contender's alone and no library's
thread pool lingers into another's measurement. Each child pins every thread pool
(environment variables, threadpoolctl, ``minigrad.set_num_threads``,
``torch.set_num_threads`` / ``set_num_interop_threads(1)``; JAX by the CPU affinity of
its process, set before jax is imported: XLA sizes its thread pool to the cores it may
use), builds its model, warms up, times several blocks of back-to-back steps and prints
one JSON line, with the CPU time its process used per second of the timing (cores busy)
and the number of its threads that were busy. The numpy-based children (numpy,
mg-numpy) run without OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, so that OpenBLAS picks
its own kernels for this CPU, and report the ``architecture`` it picked. The parent
interleaves the contenders (for each config, for each thread count, for each repeat,
for each contender, the order rotating between repeats) and reports, per cell, the
median over repeats of each child's median step time, with the slowest and fastest
repeat. It also measures how busy the machine was: CPU time that processes other than
this benchmark used during each measurement (``/proc/stat`` minus our own rusage).

Rates are also given in GFLOP/s of the step's matrix products (``step_flops``) and as
a fraction of the machine's fp32 FMA limit at that thread count (``fma_limit.py``:
measured by ``../shared/tools/fma_peak.py`` when that exists, or given by
``--fma-limit`` / ``--fma-peak``; otherwise the fractions print as "-").
"""
import argparse
import dataclasses
import importlib.util
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
import fma_limit  # noqa: E402
from timing import (OPENBLAS_OVERRIDES, blas_architecture, blas_info,  # noqa: E402
                    busy_threads, cpu_busy_seconds, cpu_label, cpu_model, load_average,
                    limit_blas_threads, thread_cpu_seconds, timed_blocks,
                    without_openblas_overrides)
from which_minigrad import (ENV_VAR as SOURCE_ENV_VAR, describe, describe_tree,  # noqa: E402
                            import_minigrad)

LIBS = ("minigrad", "mg-numpy", "numpy", "torch", "jax")
PEERS = ("numpy", "torch", "jax", "baseline")  # the minigrad/<peer> ratio columns
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


def step_flops(sizes, batch):
    """FLOPs of the matrix products of one training step, counted as BENCHMARKING.md does.

    Each Linear of ``fi`` inputs and ``fo`` outputs costs ``batch * fi * fo`` multiply-adds
    forward (``X @ W``), as many for its weight gradient (``X.T @ dZ``) and, except the
    first Linear (whose input, the data, needs no gradient), as many for its input
    gradient (``dZ @ W.T``); a multiply-add is 2 FLOPs. The elementwise work (dropout,
    ReLU, softmax, the update) is not counted: it is small beside the products.

    >>> step_flops((784, 128, 10), 32)  # 2 * 32 * (2 * (100352 + 1280) + 1280)
    13090816
    """
    macs = [fi * fo for fi, fo in zip(sizes[:-1], sizes[1:])]
    return 2 * batch * (2 * sum(macs) + sum(macs[1:]))


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
def build_minigrad(sizes, threads, max_norm=MAX_NORM, p_input=P_INPUT, p_hidden=P_HIDDEN,
                   fused=True):
    """(step function, model, optimizer, info) of the minigrad contender (``fused``: the
    model as ``dropout_mlp`` builds it by default, each hidden layer one FusedLinear)."""
    import minigrad
    from minigrad.models import dropout_mlp
    from minigrad.optim import SGD
    minigrad.set_num_threads(threads)
    model = dropout_mlp(sizes[0], sizes[1:-1], sizes[-1], p_input=p_input, p_hidden=p_hidden,
                        max_norm=max_norm, rng=INIT_SEED, dropout_rng=DROPOUT_SEED,
                        fused=fused)
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


def jax_functions(sizes, p_input=P_INPUT, p_hidden=P_HIDDEN, max_norm=MAX_NORM):
    """``(loss_and_masks, step)``: the JAX contender as pure functions, ``step`` jitted.

    Parameters are a list of ``(W, b)``, one per Linear, ``W`` stored (in, out) like
    HandMLP's, so max-norm bounds its columns.

    * ``loss_and_masks(params, key, x, y) -> (loss, keep-masks)``: training-mode forward
      and the mean cross-entropy; the key is split into one key per Dropout, whose
      keep-mask is ``jax.random.bernoulli(k, 1 - p, shape)`` (inverted dropout: kept
      units are scaled by 1 / (1 - p)); None for a Dropout with p = 0.
    * ``step(params, velocities, key, x, y) -> (params, velocities, key, loss)``: one
      SGD momentum step (v = m v + g; w -= lr v, weights and biases) and the max-norm
      projection of every ``W``'s columns, as one XLA program (``jax.jit`` of the whole
      step). ``params`` and ``velocities`` are donated: XLA writes the new ones into
      their buffers, and the arrays passed in must not be used again. The key is split
      inside the program and the key it returns is the next step's, so every step draws
      new masks (the key is a run-time input: the masks cannot be constant-folded).
    """
    import jax
    import jax.numpy as jnp
    drop = [p_input] + [p_hidden] * (len(sizes) - 2)

    def loss_and_masks(params, key, x, y):
        h, masks = x, []
        for i, ((w, b), p, k) in enumerate(zip(params, drop, jax.random.split(key, len(drop)))):
            keep = jax.random.bernoulli(k, 1.0 - p, h.shape) if p > 0 else None
            if keep is not None:
                h = jnp.where(keep, h * (1.0 / (1.0 - p)), 0.0)
            masks.append(keep)
            h = h @ w + b
            if i < len(params) - 1:
                h = jax.nn.relu(h)
        log_probs = jax.nn.log_softmax(h)
        return -jnp.mean(jnp.take_along_axis(log_probs, y[:, None], axis=1)), masks

    grad_fn = jax.value_and_grad(loss_and_masks, has_aux=True)

    def max_norm_columns(w):
        norms = jnp.sqrt(jnp.sum(w * w, axis=0))
        return w * jnp.where(norms > max_norm, max_norm / norms, 1.0)

    def step(params, velocities, key, x, y):
        key, sub = jax_step_keys(key)
        (loss, _), grads = grad_fn(params, sub, x, y)
        velocities = jax.tree.map(lambda v, g: MOMENTUM * v + g, velocities, grads)
        params = jax.tree.map(lambda p, v: p - LR * v, params, velocities)
        if max_norm is not None:
            params = [(max_norm_columns(w), b) for w, b in params]
        return params, velocities, key, loss

    return loss_and_masks, jax.jit(step, donate_argnums=(0, 1))


def jax_step_keys(key):
    """``(next step's key, this step's dropout key)``: how the JAX step splits its key."""
    import jax
    return tuple(jax.random.split(key))


def build_jax(sizes, threads, max_norm=MAX_NORM, p_input=P_INPUT, p_hidden=P_HIDDEN,
              init=None):
    """(step function, state, info) of the JAX contender.

    The weights start as a copy of HandMLP's (He init, the same seed), or of ``init``'s
    (a HandMLP), zero velocities, key ``jax.random.key(DROPOUT_SEED)``; ``state`` holds
    the current ``params``, ``velocities`` and ``key``. ``step(x, y)`` (x, y jax arrays)
    runs the jitted step and waits for all of its outputs (JAX dispatches
    asynchronously: a timer that did not wait would time the dispatch), returning the
    loss. ``threads`` is not set here: JAX's threads follow the CPU affinity of the
    process (``pin_cores``, before jax is imported); ``info`` records it.
    """
    import jax
    import jax.numpy as jnp
    hand = init or HandMLP(sizes)
    _, jitted = jax_functions(sizes, p_input, p_hidden, max_norm)
    state = {"params": [(jnp.array(w), jnp.array(b)) for w, b in zip(hand.W, hand.b)],
             "key": jax.random.key(DROPOUT_SEED)}
    state["velocities"] = jax.tree.map(jnp.zeros_like, state["params"])

    def step(x, y):
        out = jitted(state["params"], state["velocities"], state["key"], x, y)
        state["params"], state["velocities"], state["key"], loss = jax.block_until_ready(out)
        return loss

    info = {"jax": {"version": jax.__version__, "devices": [str(d) for d in jax.devices()],
                    "cores_allowed": sorted(os.sched_getaffinity(0)), "threads_asked": threads,
                    "XLA_FLAGS": os.environ.get("XLA_FLAGS"),
                    "prng": str(jax.config.jax_default_prng_impl)}}
    return step, state, info


def pin_cores(threads):
    """Restrict this process to its first ``threads`` allowed cores (for JAX: XLA sizes its
    thread pool to the cores the process may use, so this must run before jax is
    imported; threads created later inherit the affinity)."""
    os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:threads])


def child_step(lib, sizes, batch, threads):
    """``(fn, info)``: one training step of contender ``lib`` on the fixed batch, warmed
    past its one-time costs, and what the contender reports about itself."""
    x, y = make_data(batch, sizes[0], sizes[-1])
    info = {}
    if lib in ("minigrad", "mg-numpy"):
        step, *_, info = build_minigrad(sizes, threads)
        fn = lambda: step(x, y)  # noqa: E731
    elif lib == "numpy":
        model = HandMLP(sizes)
        fn = lambda: model.step(x, y)  # noqa: E731
    elif lib == "torch":
        import torch
        tx, ty = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
        step, *_, info = build_torch(sizes, threads)
        fn = lambda: step(tx, ty)  # noqa: E731
    elif lib == "jax":
        import jax.numpy as jnp
        jx, jy = jnp.asarray(x), jnp.asarray(y.astype(np.int32))  # on the device once
        step, _, info = build_jax(sizes, threads)
        fn = lambda: step(jx, jy)  # noqa: E731
        fn()  # the first call traces and compiles the step (seconds): not a warm-up step
    else:
        raise SystemExit(f"unknown contender {lib!r}")
    if lib in ("mg-numpy", "numpy"):
        # A fresh OpenBLAS runs small one-thread products slower until one larger
        # product has run (bench/README.md, "Cold OpenBLAS"): run one before the warm-up.
        a = np.ones((512, 512), dtype=np.float32)
        a @ a
    return fn, info


def run_child(args):
    """Measure one contender on one config; print one JSON line tagged RESULT_TAG.

    Besides the step times, the line has how many cores' worth of CPU the process used
    while it was timed (``cores_busy``: CPU seconds / wall seconds) and how many of its
    threads used more than 5% of that time (``busy_threads``): the check that the
    thread pinning held (one thread asked: one busy thread, about 1.0 core).
    """
    sizes, batch = args.config
    threads = args.threads[0]
    if args.child == "jax":
        pin_cores(threads)
    limits = limit_blas_threads(threads)  # noqa: F841 (held for the whole process)
    if args.child in ("torch", "jax"):
        importlib.import_module(args.child)
    elif args.child in ("minigrad", "mg-numpy"):
        import_minigrad()
        import minigrad.models  # noqa: F401
    rss_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    fn, info = child_step(args.child, sizes, batch, threads)
    rss_setup = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu0, threads0, t0 = own_cpu_seconds(), thread_cpu_seconds(), time.perf_counter()
    stats = timed_blocks(fn, blocks=args.blocks, min_block_time=args.block_time,
                         warmup=5, min_warmup_time=args.warmup_time)
    wall = time.perf_counter() - t0
    cores_busy = (own_cpu_seconds() - cpu0) / wall
    busy = busy_threads(threads0, thread_cpu_seconds(), wall)
    loss = float(fn().item())  # one more step: its loss, to show training stays finite
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    result = {
        "lib": args.child, "sizes": sizes, "batch": batch, "threads": threads,
        "step_s": {"median": stats.median, "min": stats.min, "max": stats.max,
                   "blocks": stats.samples, "steps_per_block": stats.calls_per_sample},
        "samples_per_s": batch / stats.median,
        "cores_busy": cores_busy, "busy_threads": busy,
        "peak_rss_kib": peak, "rss_after_imports_kib": rss_start,
        "rss_after_setup_kib": rss_setup, "final_loss": loss,
        "blas": blas_info(), "numpy": np.__version__, **info,
        "env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                               "MKL_NUM_THREADS", "MINIGRAD_BACKEND",
                                               "MINIGRAD_REQUIRE_COMPILED",
                                               "MINIGRAD_NUM_THREADS", "XLA_FLAGS",
                                               *OPENBLAS_OVERRIDES)},
    }
    print(RESULT_TAG + json.dumps(result), flush=True)


def own_cpu_seconds(who=resource.RUSAGE_SELF):
    """User + system CPU seconds of this process (or of ``who``, e.g. RUSAGE_CHILDREN)."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


# ---- parent: run the children ------------------------------------------------------------
def child_env(lib, threads):
    """The environment of contender ``lib``'s child: every thread count pinned, minigrad's
    backend chosen, and for the numpy-based contenders no OpenBLAS kernel override."""
    env = dict(os.environ)
    if lib in ("numpy", "mg-numpy"):
        env, _ = without_openblas_overrides(env)
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
    ours = lambda: own_cpu_seconds() + own_cpu_seconds(resource.RUSAGE_CHILDREN)  # noqa: E731
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
    """Median and spread over the repeats of one cell (config, threads, contender)."""
    rs = [r for r in results if r["config"] == config_text and r["threads"] == threads
          and r["lib"] == lib]
    if not rs:
        return None
    rates = [r["samples_per_s"] for r in rs]
    peaks = [r["peak_rss_kib"] / 1024 for r in rs]
    sizes, batch = parse_config(config_text)
    return {"samples_per_s": statistics.median(rates), "min": min(rates), "max": max(rates),
            "gflops": statistics.median(rates) * step_flops(sizes, batch) / batch / 1e9,
            "cores_busy": statistics.median(r.get("cores_busy", math.nan) for r in rs),
            "peak_rss_mib": statistics.median(peaks),
            "rss_after_imports_mib": statistics.median(r["rss_after_imports_kib"] / 1024
                                                       for r in rs),
            "foreign_cores_max": max(r.get("foreign_cores", 0.0) for r in rs),
            "by_repeat": {r["repeat"]: r["samples_per_s"] for r in rs},
            "repeats": len(rs)}


def paired_ratio(mine, theirs):
    """The median over repeats of ``mine / theirs`` measured in the same repeat ("-" if none).

    Each repeat runs every contender back to back, so a ratio within a repeat cancels
    the machine's drift between repeats (measured here: a whole repeat 2x slower for
    every contender), which a ratio of the two medians does not.
    """
    if not (mine and theirs):
        return "-"
    pairs = [mine["by_repeat"][k] / theirs["by_repeat"][k]
             for k in mine["by_repeat"] if k in theirs["by_repeat"]]
    return f"{statistics.median(pairs):.2f}" if pairs else "-"


def fmt_load(load):
    return "unavailable" if load is None else " ".join(f"{v:.2f}" for v in load)


def ratio(a, b):
    return f"{a / b:.2f}" if a and b else "-"


def markdown_rows(head, rows):
    """A Markdown table: the header, the rule, one line per row of cells."""
    return "\n".join("| " + " | ".join(cells) + " |"
                     for cells in [head, ["---"] * len(head), *rows])


def tables(summary, configs, threads_list, libs, limit=None):
    """Markdown tables: throughput (samples/s), arithmetic rate (GFLOP/s and fraction of
    the FMA ``limit``, a ``fma_limit.FmaLimit`` or None) and peak RSS (MiB)."""
    versus = [peer for peer in PEERS if peer in libs and "minigrad" in libs]
    head = ["network", "batch", "thr"]
    thr_rows, flop_rows, mem_rows = [], [], []
    for config_text in configs:
        net, batch = config_text.split("@")
        sizes, _ = parse_config(config_text)
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
                thr.append(paired_ratio(mg, other))
                mem.append(ratio(mg and mg["peak_rss_mib"], other and other["peak_rss_mib"]))
            thr.append(f"{max(s['foreign_cores_max'] for s in row if s):.2f}")
            thr_rows.append(thr)
            mem_rows.append(mem)
            flop_rows.append(cells + flop_cells(row, threads, step_flops(sizes, int(batch)),
                                                limit))
    ratios = [f"minigrad/{peer}" for peer in versus]
    limit_head = ["GFLOP per step", "FMA limit, GFLOP/s"]
    return (markdown_rows(head + list(libs) + ratios + ["others' CPU"], thr_rows),
            markdown_rows(head + limit_head + list(libs), flop_rows),
            markdown_rows(head + list(libs) + ratios, mem_rows))


def flop_cells(row, threads, flops, limit):
    """Cells of the arithmetic-rate table: the FLOPs of a step, the limit at ``threads``
    threads (and which figure it is), then per contender GFLOP/s (fraction of the limit)."""
    cells = [f"{flops / 1e9:.4g}"]
    cells.append("-" if limit is None else "{:.1f} ({})".format(*limit.for_threads(threads)))
    for s in row:
        if s is None:
            cells.append("-")
            continue
        frac = fma_limit.fmt_fraction(fma_limit.fraction_at(limit, s["gflops"], threads))
        cells.append(f"{s['gflops']:.1f} ({frac})")
    return cells


def available(module):
    """Whether ``module`` (e.g. "torch", "jax") can be imported, without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def others_cpu(window=2.0):
    """Cores' worth of CPU that other processes used over the next ``window`` seconds."""
    b0, o0 = cpu_busy_seconds(), own_cpu_seconds()
    time.sleep(window)
    b1, o1 = cpu_busy_seconds(), own_cpu_seconds()
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
    """Measure every cell in child processes, interleaved; print and save the tables."""
    if args.wait_quiet:
        wait_until_quiet(args.wait_quiet)
    libs = [lib for lib in args.libs if lib not in ("torch", "jax") or available(lib)]
    if args.baseline:
        libs.append("baseline")
    configs = [QUICK_CONFIG] if args.quick else args.config_texts
    repeats = 1 if args.quick else args.repeats
    env, limit = describe_parent(args, libs, repeats)
    results, t_start = [], time.perf_counter()
    for config_text in configs:
        for threads in args.threads:
            for rep in range(repeats):
                order = libs[rep % len(libs):] + libs[:rep % len(libs)]
                for lib in order:
                    r = run_measurement(lib, config_text, threads, args)
                    r.update(config=config_text, repeat=rep)
                    results.append(r)
                    print_measurement(r)
    env["load_after"] = load_average()
    env["wall_s"] = time.perf_counter() - t_start
    summarize_environment(env, results)
    write_report(args, env, limit, results, configs, args.threads, libs, repeats)


def render(args):
    """Rebuild the report of a saved run (``--render RUN.json``) with this script's tables."""
    with open(args.render) as f:
        saved = json.load(f)
    env, results = saved["environment"], saved["results"]
    limit = env.get("fma_limit") and fma_limit.FmaLimit(**env["fma_limit"])
    configs = list(dict.fromkeys(r["config"] for r in results))
    threads = sorted({r["threads"] for r in results})
    libs = list(dict.fromkeys(r["lib"] for r in results))
    write_report(args, env, limit, results, configs, threads, libs, env["repeats"])


def write_report(args, env, limit, results, configs, threads, libs, repeats):
    """Summarise ``results``; print the report; write it (``--markdown``) and all (``--json``)."""
    summary = {(c, t, lib): summarize(results, c, t, lib)
               for c in configs for t in threads for lib in libs}
    text = report(env, limit, tables(summary, configs, threads, libs, limit), repeats)
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


def describe_parent(args, libs, repeats):
    """Print what will run (CPU, minigrad, OpenBLAS overrides, FMA limit, load); return the
    run's ``environment`` dict and the ``fma_limit.FmaLimit`` (or None). The FMA probe (if
    any) runs here, before the children; ``--quick`` skips the default probe (10 s of
    every core) unless ``--fma-peak`` asks for it."""
    model, cores = cpu_model()
    env = {"cpu": cpu_label(), "cores": cores, "python": platform.python_version(),
           "numpy": np.__version__, "load_before": load_average(), "argv": sys.argv[1:],
           "block_time": args.block_time, "blocks": args.blocks, "repeats": repeats}
    print(f"CPU: {env['cpu']}; python {env['python']}, numpy {np.__version__}")
    if {"minigrad", "mg-numpy"} & set(libs):
        env["minigrad_imported"] = describe(import_minigrad())
        print(env["minigrad_imported"])
    if args.baseline:
        env["baseline"] = describe_tree(args.baseline)
        print(f"baseline: {env['baseline']}")
    _, env["openblas_overrides"] = without_openblas_overrides(os.environ)
    print(f"OpenBLAS overrides in this environment: {env['openblas_overrides'] or 'none'}"
          + ("; unset in the numpy and mg-numpy children (OpenBLAS picks its own kernels), "
             "kept in the others" if env["openblas_overrides"] else ""))
    limit = fma_limit.resolve(args.fma_limit, args.fma_peak,
                              default_script=None if args.quick else fma_limit.SHARED_PROBE)
    env["fma_limit"] = limit and dataclasses.asdict(limit)
    print(fma_limit.describe(limit))
    print(f"load average before: {fmt_load(env['load_before'])}")
    if env["load_before"] and env["load_before"][0] > 1.0:
        print("WARNING: the machine is busy (1-minute load > 1); figures, the two-thread "
              "ones above all, will be low and noisy.")
    print(f"contenders {libs}; threads {args.threads}; {repeats} repeat(s), each child: "
          f"warm-up >= {args.warmup_time} s, {args.blocks} blocks of >= {args.block_time} s\n")
    return env, limit


def print_measurement(r):
    """One line per child: rates, spread, memory, the cores it kept busy, others' CPU."""
    step = r["step_s"]
    gflops = step_flops(r["sizes"], r["batch"]) / step["median"] / 1e9
    print(f"{r['config']:<26} {r['threads']}t rep {r['repeat']} {r['lib']:<9} "
          f"{r['samples_per_s']:9.0f} samples/s {gflops:6.1f} GFLOP/s  "
          f"step {step['median'] * 1e3:8.2f} ms "
          f"[{step['min'] * 1e3:.2f}-{step['max'] * 1e3:.2f}] "
          f"x{step['steps_per_block']:<4} peak RSS {r['peak_rss_kib'] / 1024:6.0f} MiB  "
          f"busy {r.get('cores_busy', math.nan):.2f} cores in {r.get('busy_threads', '?')} "
          f"thread(s)  others' CPU {r.get('foreign_cores', math.nan):.2f} cores  "
          f"({r['wall_s']:.1f} s)", flush=True)


def summarize_environment(env, results):
    """Add to ``env`` the others' CPU over the run and what the children reported about
    their libraries (minigrad's backend, torch, jax, numpy's OpenBLAS kernel)."""
    foreign = [r["foreign_cores"] for r in results if "foreign_cores" in r]
    env["foreign_cores_mean"] = statistics.fmean(foreign) if foreign else None
    env["foreign_cores_max"] = max(foreign) if foreign else None
    first = {r["lib"]: r for r in results}
    for lib in ("minigrad", "mg-numpy"):
        if lib in first:
            env[f"{lib}_backend_info"] = first[lib].get("minigrad_backend")
    for lib in ("torch", "jax"):
        if lib in first:
            env[lib] = first[lib].get(lib)
    # numpy's BLAS as the numpy-based children saw it (without the overrides), else any's
    blas_child = next((first[lib] for lib in ("numpy", "mg-numpy") if lib in first),
                      next(iter(first.values()), None))
    env["blas"] = blas_child and blas_child["blas"]
    env["blas_of"] = blas_child and blas_child["lib"]


def report(env, limit, tables_text, repeats):
    """The Markdown report: a header naming the machine, the limit and the BLAS, then the
    throughput, arithmetic-rate and memory tables."""
    thr_table, flop_table, mem_table = tables_text
    kernels = (env.get("minigrad_backend_info") or {}).get("kernels")
    blas = env["blas"] or []
    openblas = (f"numpy's OpenBLAS {blas[0].get('version')} with {blas_architecture(blas)} "
                f"kernels (in the {env['blas_of']} child)" if blas_architecture(blas)
                else f"numpy's BLAS: {blas}")
    header = (f"CPU: {env['cpu']}; {fma_limit.describe(limit)}; {openblas}. "
              f"Load average before {fmt_load(env['load_before'])}, "
              f"after {fmt_load(env['load_after'])}; CPU used by other processes during the "
              f"measurements: mean {env['foreign_cores_mean'] or 0:.2f} cores, "
              f"max {env['foreign_cores_max'] or 0:.2f}. {repeats} repeat(s) per cell, "
              f"run time {env['wall_s']:.0f} s. minigrad kernels: {kernels}.")
    return (f"{header}\n\nTraining throughput, samples/s: median over repeats "
            f"[slowest-fastest repeat]; minigrad/peer: the median over repeats of the ratio "
            f"within a repeat (the contenders of a repeat run back to back); others' CPU: "
            f"the most CPU (in cores, averaged over "
            f"one child) that other processes used during any measurement of the row\n\n"
            f"{thr_table}\n\nArithmetic rate: GFLOP/s of the step's matrix products "
            f"(2 x batch x the forward, weight-gradient and input-gradient multiply-adds, "
            f"the first layer's input gradient excepted) at the median throughput, and in "
            f"parentheses its fraction of the fp32 FMA limit at that thread count (the "
            f"all-cores figure when every core is used, else threads x the 1-core "
            f"figure)\n\n{flop_table}\n\nPeak RSS of the process, MiB "
            f"(in parentheses: RSS after imports, before building the model)\n\n{mem_table}\n")


# ---- self-check: do the contenders compute the same step? ------------------------------
def linear_layers(model):
    """A minigrad model's Linear layers in order (a FusedLinear is a Linear)."""
    from minigrad.nn import Linear
    return [m for m in model.modules() if isinstance(m, Linear)]


def twin(lib, sizes, hand, c):
    """``(step, weights)`` of contender ``lib`` without dropout, with max-norm ``c``, and
    starting from ``hand``'s weights (a HandMLP): ``step(x, y)`` (numpy arrays) runs one
    training step and returns its loss; ``weights()`` -> ``[(W, b)]``, W as (in, out)."""
    if lib == "minigrad":
        step, model, _, _ = build_minigrad(sizes, 1, max_norm=c, p_input=0, p_hidden=0)
        linears = linear_layers(model)
        for lin, w, b in zip(linears, hand.W, hand.b):
            lin.weight.data[...] = w
            lin.bias.data[...] = b
        return (lambda x, y: step(x, y).item(),
                lambda: [(lin.weight.data, lin.bias.data) for lin in linears])
    if lib == "torch":
        import torch
        step, model, _, _ = build_torch(sizes, 1, max_norm=c, p_input=0, p_hidden=0)
        linears = [m for m in model if isinstance(m, torch.nn.Linear)]
        with torch.no_grad():  # torch stores (out, in)
            for lin, w, b in zip(linears, hand.W, hand.b):
                lin.weight.copy_(torch.from_numpy(w.T.copy()))
                lin.bias.copy_(torch.from_numpy(b))
        return (lambda x, y: step(torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))).item(),
                lambda: [(lin.weight.detach().numpy().T, lin.bias.detach().numpy())
                         for lin in linears])
    if lib == "jax":
        import jax.numpy as jnp
        step, state, _ = build_jax(sizes, 1, max_norm=c, p_input=0, p_hidden=0, init=hand)
        return (lambda x, y: float(step(jnp.asarray(x), jnp.asarray(y.astype(np.int32)))),
                lambda: [(np.asarray(w), np.asarray(b)) for w, b in state["params"]])
    raise ValueError(f"no twin for {lib!r}")


def check_same_steps(sizes, x, y, libs, c=1.0, steps=3):
    """Assert that each of ``libs`` and HandMLP, without dropout and from the same weights,
    give the same loss at each of ``steps`` steps (rtol 1e-5) and the same weights and
    biases after them (rtol 1e-4). ``c`` must be below a column norm of every layer's
    initial weights (He init: about 1.4), so that the max-norm projection is active;
    several steps exercise the momentum."""
    hand = HandMLP(sizes, p_input=0, p_hidden=0, max_norm=c)
    assert all(np.linalg.norm(w, axis=0).max() > c for w in hand.W), "max-norm inactive"
    twins = {lib: twin(lib, sizes, hand, c) for lib in libs}
    for s in range(steps):
        losses = {lib: step(x, y) for lib, (step, _) in twins.items()}
        l_hand = float(hand.step(x, y))
        print(f"p=0 step {s}: loss numpy {l_hand:.7f}  "
              + "  ".join(f"{lib} {loss:.7f}" for lib, loss in losses.items()))
        for lib, loss in losses.items():
            assert math.isclose(loss, l_hand, rel_tol=1e-5), (lib, s, loss, l_hand)
    for lib, (_, weights) in twins.items():
        for i, (w, b) in enumerate(weights()):
            np.testing.assert_allclose(w, hand.W[i], rtol=1e-4, atol=1e-6, err_msg=f"{lib} W{i}")
            np.testing.assert_allclose(b, hand.b[i], rtol=1e-4, atol=1e-6, err_msg=f"{lib} b{i}")
    assert all(np.linalg.norm(w, axis=0).max() <= c * (1 + 1e-5) for w in hand.W)
    print(f"ok: {', '.join(libs)} and hand numpy agree on {steps} steps without dropout "
          "(losses, weights after SGD momentum + max-norm)")


def check_minigrad_masks(sizes, x, y):
    """Assert that HandMLP's dropout masks replayed in minigrad (the unfused model:
    a FusedLinear never materialises its mask) give HandMLP's loss and gradients."""
    import minigrad
    from minigrad.nn import forward_with_masks
    _, model, opt, _ = build_minigrad(sizes, 1, fused=False)
    hand = HandMLP(sizes)
    linears = linear_layers(model)
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


def check_jax_masks(sizes, x, y):
    """Assert that the jitted JAX step's dropout is HandMLP's and is drawn afresh.

    One step from zero velocities leaves the gradients in the velocities (v = 0 m + g):
    with the step's masks (``loss_and_masks`` at the step's dropout key) replayed in
    HandMLP, they and the step's loss are HandMLP's. From the same weights, the key the
    step returns gives another loss (new masks) and the key it was given the same one.
    """
    import jax
    import jax.numpy as jnp
    hand = HandMLP(sizes)
    loss_and_masks, step = jax_functions(sizes)
    params = lambda: [(jnp.array(w), jnp.array(b)) for w, b in zip(hand.W, hand.b)]  # noqa: E731
    zeros = lambda: jax.tree.map(jnp.zeros_like, params())  # noqa: E731
    jx, jy, key = jnp.asarray(x), jnp.asarray(y.astype(np.int32)), jax.random.key(DROPOUT_SEED)
    _, grads, next_key, loss = step(params(), zeros(), key, jx, jy)
    masks = jax.jit(loss_and_masks)(params(), jax_step_keys(key)[1], jx, jy)[1]
    loss_h, dW, db, _ = hand.loss_and_grads(x, y, [np.asarray(m) for m in masks])
    assert math.isclose(float(loss), float(loss_h), rel_tol=1e-5), (float(loss), loss_h)
    for i, (gw, gb) in enumerate(grads):
        np.testing.assert_allclose(np.asarray(gw), dW[i], rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(np.asarray(gb), db[i], rtol=1e-4, atol=1e-6)
    second, again = (float(step(params(), zeros(), k, jx, jy)[3]) for k in (next_key, key))
    assert second != float(loss) and again == float(loss), (float(loss), second, again)
    print(f"ok: the JAX step's dropout masks replayed in hand numpy give its loss "
          f"({float(loss):.6f}) and gradients; its next key draws new masks "
          f"(loss {second:.6f} from the same weights)")


def keep_rates(lib, sizes=(784, 1024, 10), batch=256):
    """Fractions of units kept by each Dropout of ``lib`` ("numpy" or "jax") in one
    training-mode forward pass (should be 1 - p: 0.8 input, 0.5 hidden)."""
    x, y = make_data(batch, sizes[0], sizes[-1])
    hand = HandMLP(sizes)
    if lib == "numpy":
        masks = hand.loss_and_grads(x, y)[3]
    else:
        import jax
        loss_and_masks, _ = jax_functions(sizes)
        params = [(w, b) for w, b in zip(hand.W, hand.b)]
        masks = jax.jit(loss_and_masks)(params, jax.random.key(DROPOUT_SEED), x,
                                        y.astype(np.int32))[1]
    return [float(np.mean(m)) for m in masks]


def check_keep_rates(libs):
    """Assert keep rates 0.8 and 0.5 within 0.01: the means of 256 x 784 and 256 x 1024
    Bernoulli draws have standard errors 0.0009 and 0.001, so 0.01 is about 10 of them."""
    for lib in libs:
        rates = keep_rates(lib)
        assert abs(rates[0] - 0.8) < 0.01 and abs(rates[1] - 0.5) < 0.01, (lib, rates)
        print(f"ok: {lib} keep rates {rates[0]:.3f} (input), {rates[1]:.3f} (hidden)")


def check_hand_gradients():
    """Assert that HandMLP's backward matches central finite differences (float64, with
    the dropout masks fixed)."""
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


def self_check():
    """Assert that minigrad, HandMLP, torch and JAX (those installed) do the same
    arithmetic; print what passed."""
    minigrad = import_minigrad()
    print(describe(minigrad))
    print("minigrad backend:", minigrad.get_backend(), minigrad.backend_info()["kernels"])
    peers = [lib for lib in ("torch", "jax") if available(lib)]
    if "jax" in peers:
        import jax
        print(f"jax {jax.__version__} on {jax.devices()}")
    sizes, batch = (784, 64, 48, 10), 32
    x, y = make_data(batch, sizes[0], sizes[-1])
    check_same_steps(sizes, x, y, ["minigrad"] + peers)
    check_minigrad_masks(sizes, x, y)
    if "jax" in peers:
        check_jax_masks(sizes, x, y)
    check_hand_gradients()
    check_keep_rates(["numpy"] + (["jax"] if "jax" in peers else []))
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
    fma_limit.add_arguments(parser)
    parser.add_argument("--render", metavar="RUN.json",
                        help="measure nothing: rebuild the tables of a run saved with --json "
                        "(and write them with --markdown)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.fma_limit:
        try:
            fma_limit.parse_numbers(args.fma_limit)
        except ValueError as e:
            parser.error(str(e))
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
    if args.render:
        render(args)
    elif args.self_check:
        self_check()
    elif args.child:
        args.config = parse_config(args.configs[0])
        run_child(args)
    else:
        run_parent(args)


if __name__ == "__main__":
    main()
