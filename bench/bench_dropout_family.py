"""Benchmark the dropout family's kernels against the best peer implementation that exists.

Usage::

    python bench/bench_dropout_family.py                   # full run (a few minutes)
    python bench/bench_dropout_family.py --quick           # smoke test
    python bench/bench_dropout_family.py --json out.json --markdown out.md

What is compared (float32, at 1 and 2 threads, every library pinned to that count; the
same arrays for every contender):

* Bernoulli dropout (p = 0.5) on a 128 x 1024 array, the reference row: minigrad's
  kernel, numpy by hand, ``torch.nn.functional.dropout``.
* Gaussian dropout (p = 0.5, sigma = 1), forward and forward + backward on 128 x 1024:
  minigrad's kernel (the backward regenerates the noise from the seed); numpy by hand
  and torch written as Keras's ``GaussianDropout`` is, ``x * (1 + sigma * randn)``,
  keeping the noise for the backward (no library ships the layer for torch).
* Alpha dropout (p = 0.1) forward and forward + backward: minigrad's kernel against
  ``torch.nn.functional.alpha_dropout`` (its backward: the mask times a, as autograd
  runs it) and numpy by hand.
* Concrete dropout (t = 0.1) forward and forward + backward, with the gradient of the
  drop probability: minigrad's op (numpy arithmetic on counter-based logistic noise;
  no compiled kernel yet) against the same formula in torch with autograd.
* DropConnect per example, a 784 -> 800 layer at batch 100, forward + backward (the
  three products, each regenerating its masks): minigrad's fused kernel against the
  same layer in numpy with the (100, 784, 800) masks materialised, and as a fraction of
  a plain dense layer (minigrad's GEMM forward + both backward products). The unit is
  connections per second: 3 x batch x in x out multiply-adds, each behind a mask bit.
  numpy and torch draw the (100, 784, 800) masks and run batched products (no library
  ships the per-example layer). Rows for the per-minibatch mask (one masked weight
  matrix, then minigrad's GEMMs) and for the dense layer without masks.

The "floor" column is each kernel's roofline: the part of its work that no implementation
of the same noise can skip, timed alone with minigrad's own code. For Gaussian dropout it
is the normal draws (``gaussian_noise``: the draws written out, no input read; twice for
forward + backward, which regenerates them); the row "gaussian noise draws" sets those
draws against numpy's ``standard_normal`` and torch's ``randn``. For DropConnect it is
the mask hashing, three times over (``dropconnect_kept_count``: every bit hashed and
counted, no weight read, no product), one pass for each product. ``minigrad/floor``
is then the fraction of the floor's speed that the kernel reaches (1.00: the products
cost nothing beyond the noise).

Contenders are interleaved, warmed up, and summarised by median and min-max spread over
the repeats (``timing.py``). Run it on a quiet machine: the load average is printed
before and after.
"""
import itertools
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_kernels import minigrad, run, torch  # noqa: E402

from minigrad.kernels import backend, dispatch  # noqa: E402
from minigrad.ops.alpha_dropout import ALPHA_PRIME  # noqa: E402

SHAPE = (128, 1024)
DROPCONNECT_SHAPE = (100, 784, 800)  # (batch, in, out)


def unit_noise_rows(rng):
    """{op: (unit, work, {library: callable})} for the noise of the unit-dropping kinds."""
    x = rng.standard_normal(SHAPE, dtype=np.float32)
    g = rng.standard_normal(SHAPE, dtype=np.float32)
    n = float(x.size)
    seeds = itertools.count(4242)
    np_rng = np.random.default_rng(0)
    sigma = np.float32(1.0)  # p = 0.5
    a, b = dispatch.alpha_dropout_affine(0.1, ALPHA_PRIME)
    a32, b32, alpha32 = np.float32(a), np.float32(b), np.float32(ALPHA_PRIME)

    def mg_gauss_fwd_bwd():
        seed = next(seeds)
        return (dispatch.gaussian_dropout_forward(x, 0.5, seed),
                dispatch.gaussian_dropout_backward(g, 0.5, seed))

    def np_gauss_fwd_bwd():
        r = 1 + sigma * np_rng.standard_normal(SHAPE, dtype=np.float32)
        return x * r, g * r

    def np_alpha_fwd():
        keep = np_rng.random(SHAPE, dtype=np.float32) >= np.float32(0.1)
        return a32 * np.where(keep, x, alpha32) + b32, keep

    noise = np.empty(x.size, np.float32)

    def gauss_draws():
        backend.implementations["gaussian_dropout"].gaussian_noise(
            noise, next(seeds), dispatch.gaussian_dropout_inverse_sigma(0.5),
            backend.get_num_threads())
        return noise

    def mg_alpha_fwd_bwd():
        out, mask = dispatch.alpha_dropout_forward(x, 0.1, next(seeds), ALPHA_PRIME)
        return out, dispatch.alpha_dropout_backward(g, mask, 0.1, ALPHA_PRIME)

    def np_alpha_fwd_bwd():
        out, keep = np_alpha_fwd()
        return out, np.where(keep, g * a32, np.float32(0))

    rows = {
        "bernoulli dropout fwd": {
            "minigrad": lambda: dispatch.dropout_forward(x, 0.5, next(seeds)),
            "numpy": lambda: x * (np_rng.random(SHAPE, dtype=np.float32) >= 0.5) * 2},
        "gaussian noise draws": {
            "minigrad": gauss_draws,
            "numpy": lambda: np_rng.standard_normal(SHAPE, dtype=np.float32)},
        "gaussian dropout fwd": {
            "minigrad": lambda: dispatch.gaussian_dropout_forward(x, 0.5, next(seeds)),
            "numpy": lambda: x * (1 + sigma * np_rng.standard_normal(SHAPE, dtype=np.float32)),
            "floor": gauss_draws},
        "gaussian dropout fwd+bwd": {"minigrad": mg_gauss_fwd_bwd, "numpy": np_gauss_fwd_bwd,
                                     "floor": lambda: (gauss_draws(), gauss_draws())},
        "alpha dropout fwd": {
            "minigrad": lambda: dispatch.alpha_dropout_forward(x, 0.1, next(seeds), ALPHA_PRIME),
            "numpy": np_alpha_fwd},
        "alpha dropout fwd+bwd": {"minigrad": mg_alpha_fwd_bwd, "numpy": np_alpha_fwd_bwd},
    }
    rows.update(concrete_rows(x, g))
    if torch is not None:
        F = torch.nn.functional
        tx, tg = torch.from_numpy(x), torch.from_numpy(g)

        def torch_gauss_fwd_bwd():
            r = 1 + float(sigma) * torch.randn_like(tx)
            return tx * r, tg * r

        def torch_alpha_fwd_bwd():
            # what autograd runs for alpha_dropout: the noise, then grad * (mask * a)
            t = tx.clone().requires_grad_()
            out = F.alpha_dropout(t, 0.1, training=True)
            out.backward(tg)
            return out, t.grad

        rows["bernoulli dropout fwd"]["torch"] = lambda: F.dropout(tx, 0.5, training=True)
        rows["gaussian noise draws"]["torch"] = lambda: torch.randn(SHAPE)
        rows["gaussian dropout fwd"]["torch"] = lambda: tx * (1 + float(sigma) *
                                                              torch.randn_like(tx))
        rows["gaussian dropout fwd+bwd"]["torch"] = torch_gauss_fwd_bwd
        rows["alpha dropout fwd"]["torch"] = lambda: F.alpha_dropout(tx, 0.1, training=True)
        rows["alpha dropout fwd+bwd"]["torch"] = torch_alpha_fwd_bwd
    return {f"{op} {SHAPE[0]}x{SHAPE[1]}": ("Melem/s", n, fns) for op, fns in rows.items()}


def concrete_rows(x, g):
    """Concrete dropout forward and forward + backward (to x and to the drop-probability logit)."""
    logit = math.log(0.1 / 0.9)

    def mg(backward):
        def run():
            tx = minigrad.tensor(x, requires_grad=backward)
            theta = minigrad.tensor(np.float32(logit), requires_grad=backward)
            out = minigrad.concrete_dropout(tx, theta, 0.1, training=True)
            if backward:
                out.backward(minigrad.tensor(g))
            return out
        return run

    rows = {"concrete dropout fwd": {"minigrad": mg(False)},
            "concrete dropout fwd+bwd": {"minigrad": mg(True)}}
    if torch is not None:
        tx, tg = torch.from_numpy(x), torch.from_numpy(g)

        def torch_concrete(backward):
            def run():
                t = tx.clone().requires_grad_(backward)
                theta = torch.tensor(logit, requires_grad=backward)
                u = torch.rand_like(t)
                z = torch.sigmoid((theta + torch.log(u) - torch.log1p(-u)) / 0.1)
                out = t * (1 - z) / (1 - torch.sigmoid(theta))
                if backward:
                    out.backward(tg)
                return out
            return run

        rows["concrete dropout fwd"]["torch"] = torch_concrete(False)
        rows["concrete dropout fwd+bwd"]["torch"] = torch_concrete(True)
    return rows


def dropconnect_rows(rng):
    """{op: (unit, work, {library: callable})} for the DropConnect layer, forward + backward.

    The work is 3 * B * K * N masked multiply-adds (the forward and the two backward
    products); a plain dense layer does the same multiply-adds without the masks, which
    is the row it is measured against ("dense (no masks)", minigrad's GEMM).
    """
    batch, k, n = DROPCONNECT_SHAPE
    x = rng.standard_normal((batch, k), dtype=np.float32)
    w = (rng.standard_normal((k, n), dtype=np.float32) / np.float32(np.sqrt(k)))
    b = np.zeros(n, np.float32)
    g = rng.standard_normal((batch, n), dtype=np.float32)
    seeds = itertools.count(99)
    np_rng = np.random.default_rng(2)
    p, scale = 0.5, np.float32(2.0)

    def mg_example():
        seed = next(seeds)
        z = dispatch.dropconnect_forward(x, w, b, p, seed)
        return z, dispatch.dropconnect_backward(g, x, w, p, seed)

    def mg_batch():
        masked, mask = dispatch.dropout_forward(w, p, next(seeds))
        z = dispatch.fused_linear_forward(x, masked, b)
        dw = dispatch.apply_dropout_mask(dispatch.matmul(x, g, trans_a=True), mask, p)
        return z, dispatch.matmul(g, masked, trans_b=True), dw

    def mg_dense():
        z = dispatch.fused_linear_forward(x, w, b)
        return z, dispatch.matmul(g, w, trans_b=True), dispatch.matmul(x, g, trans_a=True)

    def mask_hashing():  # the floor: each product's mask bits, hashed and counted
        seed = next(seeds)
        return [dispatch.dropconnect_kept_count(batch, k, n, p, seed) for _ in range(3)]

    def np_example():
        masked = np.where(np_rng.random((batch, k, n), dtype=np.float32) >= p, w, 0) * scale
        z = np.matmul(x[:, None, :], masked)[:, 0] + b
        dx = np.matmul(masked, g[:, :, None])[:, :, 0]
        dw = np.einsum("bk,bkn,bn->kn", x, masked != 0, g, optimize=True) * scale
        return z, dx, dw

    work = 3.0 * batch * k * n
    label = f"{batch}x{k}->{n}, fwd+bwd"
    rows = {f"dropconnect per example {label}": ("Gconn/s", work, {
                "minigrad": mg_example, "numpy": np_example, "floor": mask_hashing}),
            f"dropconnect per minibatch {label}": ("Gconn/s", work, {"minigrad": mg_batch}),
            f"dense (no masks) {label}": ("Gconn/s", work, {"minigrad": mg_dense})}
    if torch is not None:
        tx, tw, tg = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(g)

        def torch_example():
            keep = torch.rand(batch, k, n) >= p
            masked = torch.where(keep, tw, 0) * float(scale)
            z = torch.bmm(tx.unsqueeze(1), masked).squeeze(1)
            dx = torch.bmm(masked, tg.unsqueeze(2)).squeeze(2)
            dw = torch.einsum("bk,bkn,bn->kn", tx, keep.float(), tg) * float(scale)
            return z, dx, dw
        rows[f"dropconnect per example {label}"][2]["torch"] = torch_example
    return rows


def main(argv=None):
    run([unit_noise_rows, dropconnect_rows], __doc__.split("\n\n")[0], argv,
        extra_columns=("floor",))


if __name__ == "__main__":
    sys.exit(main())
