"""The fused hidden layer of a dropout MLP: y = dropout(relu(x @ W + b)) in one kernel.

Unfused, a hidden layer makes four passes over its (batch, units) output: the GEMM
writes it, the bias add, ReLU and dropout each read and write it again, and dropout
also stores a mask for backward. Here the GEMM's write-back does all of it while each
block of the output is still in cache (``dispatch.fused_linear_forward``).

Backward needs no mask. With inverted dropout (scale s = 1/(1-p), or s = 1 under the
weight-scaling rule) a unit's output is y = s * relu(z) if kept, else 0, so

    dy/dz = s   where y > 0 (kept *and* z > 0),    0 elsewhere,

and the forward output alone says where: ``dz = where(y > 0, s * dy, 0)``. Then, as
for any linear layer, dW = x.T @ dz, db = sum over the batch of dz, dx = dz @ W.T.

Gaussian dropout (``noise="gaussian"``) multiplies by noise r ~ N(1, p/(1-p)) instead:
y = relu(z) * r, so dy/dz = r where z > 0 and 0 elsewhere. Here y cannot tell where
z > 0 (y < 0 where r < 0, and relu(z) * r can underflow to 0), so the forward returns
that slope itself, r where the ReLU passed the unit and NaN elsewhere (r is never NaN),
and ``dz = where(slope is not NaN, slope * dy, 0)``. Storing it costs one array, the
size of the ReLU output the unfused ReLU op keeps; regenerating r from the seed in
the backward would cost the normal draws again.

For the same seed the fused op draws the same mask (or noise) as the unfused ops
(``relu`` then ``dropout``): same GEMM, same hash of (seed, element index), same
arithmetic, hence bit-identical outputs and gradients (``tests/nn/test_nn_fused_linear.py``).
The layer ``minigrad.nn.FusedLinear`` runs this op (``minigrad.nn.fuse`` puts it in a
model); the unfused ops remain the reference.
"""
from ..checks import check_bool, check_choice, check_probability
from ..kernels import dispatch
from ..tensor import Function
from .broadcasting import as_operands
from .matmul import matrix_operands


class FusedLinear(Function):
    """y = [noise](relu?(x @ W + b)); dz = where(y > 0, s dy, 0), or slope * dy (Gaussian)."""

    def forward(self, x, w, b=None, *, relu, p, seed, inverted, noise):
        self.relu, self.p, self.inverted = relu, p, inverted
        self.has_bias = b is not None
        self.gaussian = noise == "gaussian"
        y = dispatch.fused_linear_forward(x, w, b, relu=relu, p=p, seed=seed, inverted=inverted,
                                          noise=noise)
        if self.gaussian:
            y, slope = y
            self.save_for_backward(x, w, slope)  # dy/dz: r where z > 0, else NaN
        else:
            self.save_for_backward(x, w, y)
        return y

    def backward(self, grad):
        x, w, y_or_slope = self.saved_arrays
        need_x, need_w = self.needs_input_grad[:2]
        need_b = self.has_bias and self.needs_input_grad[2]
        if self.gaussian:
            dz, _ = dispatch.fused_linear_backward_noise(grad, y_or_slope, bias_grad=False)
        elif self.relu:
            dz, _ = dispatch.fused_linear_backward(grad, y_or_slope, self.p, self.inverted,
                                                   bias_grad=False)
        else:
            dz = grad
        # numpy's own reduction, as the unfused bias add's backward uses: for a single
        # column numpy sums pairwise, not row by row, and the two paths must agree bitwise.
        db = dz.sum(axis=0) if need_b else None
        dx = dispatch.matmul(dz, w, trans_b=True) if need_x else None
        dw = dispatch.matmul(x, dz, trans_a=True) if need_w else None
        return (dx, dw, db) if self.has_bias else (dx, dw)


def fused_linear(x, weight, bias=None, relu=False, p=0.0, seed=None, inverted=True,
                 noise="bernoulli"):
    """``dropout(relu(x @ weight + bias))`` as one op (each stage optional).

    ``nn.FusedLinear`` runs it with ReLU and dropout; ``nn.Linear`` with neither, as
    ``x @ weight + bias`` in one GEMM whose write-back adds the bias.

    Args:
        x: Tensor (batch, in_features) (an array is converted, as by ``matmul``);
            weight: (in_features, out_features); bias: (out_features,) or None.
        relu: apply ReLU after the bias.
        p: drop probability of the dropout after ReLU (0: no dropout). Dropout without
            ReLU is not fused (its backward would need the mask).
        seed: the 64-bit seed of the dropout mask (``minigrad.random.draw_seed``).
        inverted: scale kept units by 1/(1-p) (else leave them unscaled).
        noise: ``"bernoulli"`` (dropout) or ``"gaussian"``: multiply by Gaussian
            dropout's noise ``r ~ N(1, p/(1-p))`` instead, as ``minigrad.gaussian_dropout``
            with that seed would (``p`` in [0, 1); ``inverted`` does not apply).

    Example::

        >>> import minigrad
        >>> from minigrad.random import draw_seed
        >>> x = minigrad.tensor([[1.0, 2.0], [-3.0, 0.5]])
        >>> w = minigrad.tensor([[1.0, -1.0], [0.5, 1.0]])
        >>> y = fused_linear(x, w, relu=True, p=0.5, seed=draw_seed(3), noise="gaussian")
        >>> unfused = minigrad.gaussian_dropout((x @ w).relu(), 0.5, training=True, rng=3)
        >>> bool((y.data == unfused.data).all())  # the same seed, the same noise
        True
    """
    x, weight = matrix_operands("fused_linear", x, weight)
    if bias is not None:
        x, bias = as_operands("fused_linear", x, bias)
    relu = check_bool("fused_linear: relu", relu)
    inverted = check_bool("fused_linear: inverted", inverted)
    check_choice("fused_linear: noise", noise, ("bernoulli", "gaussian"))
    p = check_probability("dropout probability p", p, allow_one=noise == "bernoulli")
    if p > 0 and not relu:
        raise ValueError("fused_linear: dropout is fused only after a ReLU")
    if p == 0:
        noise = "bernoulli"  # no noise at all: the plain ReLU backward, no slope to keep
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return FusedLinear.apply(*inputs, relu=relu, p=p, seed=seed, inverted=inverted, noise=noise)
