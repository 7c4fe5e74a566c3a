"""DropConnect (Wan, Zeiler, Zhang, LeCun & Fergus, "Regularization of neural networks
using DropConnect", ICML 2013).

Dropout zeroes units; DropConnect zeroes *weights*. A dense layer with weights W
(in x out, as ``nn.Linear``), input v and activation a computes in training

    r = a((M * W) v + b),      M[k, n] ~ Bernoulli(keep),  keep = 1 - p,

with a fresh mask per example (section 3 of the paper; ``mask="example"``) or, more
cheaply, one mask for the whole minibatch (``mask="batch"``). Biases are never dropped.
A mask is only randomness: drawing it per example is what makes each example train a
different thinned network, and it is also what makes the layer costly, because
``batch x in x out`` mask bits cannot go through a GEMM. minigrad never stores them:
its kernels recompute each bit from a hash of (seed, example, input, output) in the
forward and in both backward products (``minigrad.kernels.dispatch.dropconnect_forward``).

Scaling, as for dropout (``mode`` of ``nn.Dropout``):

* ``inverted=True``: kept weights are scaled by ``s = 1/keep`` in training, so
  ``E[s M * W] = W`` and the mean network at test time is the plain layer;
* ``inverted=False`` (the paper's training): ``s = 1``, and the mean network uses
  ``E[M * W] = keep * W``.

Inference (``training=False``), either way:

* ``inference="mean"``: ``a(E[s M * W] v + b)``, one deterministic pass;
* ``inference="sampling"``, the paper's moment matching (section 3.2, Algorithm 2):
  each pre-activation ``u[n] = sum_k s M[k, n] W[k, n] v[k]`` is a sum of independent
  terms, so approximately Gaussian with

      E[u]   = s keep (W^T v)[n] + b[n]
      Var[u] = s^2 keep (1 - keep) ((W*W)^T (v*v))[n]

  i.e. ``Var = (1 - keep)/keep * (W*W)^T (v*v)`` under inverted scaling (s = 1/keep) and
  ``keep (1 - keep) (W*W)^T (v*v)`` under the paper's (s = 1); the bias has no variance.
  Draw Z samples ``u_z ~ N(E[u], Var[u])``, pass each through the activation and average:
  ``E[a(u)]``, which differs from ``a(E[u])`` wherever ``a`` bends (for ReLU,
  ``E[relu(u)] >= relu(E[u])``). With no activation both rules give ``E[u]``.
"""
import numpy as np

from ..autograd import no_grad
from ..checks import check_bool, check_choice, check_int, check_probability
from ..kernels import dispatch
from ..random import draw_seed
from ..tensor import Function, Tensor
from .activations import relu
from .broadcasting import as_operands
from .dropout import dropout
from .fused_linear import fused_linear
from .matmul import matrix_operands

MASKS = ("example", "batch")
ACTIVATIONS = (None, "relu")
INFERENCES = ("mean", "sampling")
#: Default number of Gaussian samples per unit for ``inference="sampling"``. The paper
#: used about 1000; the Monte Carlo error of the average falls as 1/sqrt(Z), so 100
#: samples leave 10% of one sample's spread, and cost a tenth as much.
SAMPLES = 100


class DropConnect(Function):
    """z_b = s x_b (W * M_b) + b; dx_b = s (W * M_b) dz_b, dW = s sum_b x_b dz_b * M_b, db = sum dz."""

    def forward(self, x, w, b=None, *, p, seed, inverted):
        self.p, self.seed, self.inverted = p, seed, inverted
        self.has_bias = b is not None
        self.save_for_backward(x, w)
        return dispatch.dropconnect_forward(x, w, b, p, seed, inverted)

    def backward(self, grad):
        x, w = self.saved_arrays
        need_x, need_w = self.needs_input_grad[:2]
        dx, dw = dispatch.dropconnect_backward(grad, x, w, self.p, self.seed, self.inverted,
                                               need_x=need_x, need_w=need_w)
        if not self.has_bias:
            return dx, dw
        return dx, dw, grad.sum(axis=0) if self.needs_input_grad[2] else None


def moment_matching(x, weight, bias, p, inverted, activation, samples, seed):
    """The paper's sampling inference (Algorithm 2) on arrays: the average of ``a(u_z)``.

    ``u_z = mean + sqrt(var) * z_z``, with mean and var as in the module docstring and
    ``z_z`` the counter-based normals of substream ``z`` of ``seed``
    (``dispatch.standard_normal``). Returns an array of x's dtype (averaged in float64).
    """
    keep = 1.0 - p
    mean = dispatch.fused_linear_forward(x, weight if inverted else weight * x.dtype.type(keep),
                                         bias)
    scale2 = (1.0 / keep) ** 2 if inverted else 1.0  # s**2
    var = scale2 * keep * (1.0 - keep) * dispatch.matmul(x * x, weight * weight)
    std = np.sqrt(var.astype(np.float64))
    total = np.zeros(mean.shape)
    for z in range(samples):
        u = mean + std * dispatch.standard_normal(mean.shape, seed, z)
        total += dispatch.relu_forward(u) if activation == "relu" else u
    return (total / samples).astype(x.dtype)


def dropconnect_linear(x, weight, bias, p, training, *, mask="example", inverted=True,
                       activation=None, inference="mean", samples=SAMPLES, rng=None):
    """A dense layer with DropConnect: ``a((M * W) x + b)``, a Bernoulli mask on the weights.

    Args:
        x: Tensor (batch, in_features).
        weight: Tensor (in_features, out_features) (column n: the weights into unit n).
        bias: Tensor (out_features,) or None. Never dropped.
        p: probability of *dropping* each weight, in [0, 1) (the paper's keep = 1 - p;
            it used p = 0.5).
        training: required, no default. True: draw masks; False: inference.
        mask: ``"example"`` (the paper's: every example its own mask, recomputed in the
            kernels from a hash and never stored) or ``"batch"`` (one mask for the
            minibatch: dropout applied to the weight matrix, then one GEMM).
        inverted: scale kept weights by 1/(1-p) in training (True, as ``nn.Dropout``'s
            default) or not (False, the paper; inference then uses (1-p) W).
        activation: None or ``"relu"``, applied after the bias.
        inference: ``"mean"`` or ``"sampling"`` (moment matching; see the module
            docstring). Used only when ``training`` is False.
        samples: Gaussian samples per unit for ``inference="sampling"`` (an int >= 1).
        rng: None (the library Generator), an int seed or a numpy Generator. One 64-bit
            seed is drawn per call (training, or sampling inference).

    Returns:
        A Tensor (batch, out_features). Sampling inference is not differentiable: it
        returns a Tensor without a graph.

    Example::

        >>> import numpy as np, minigrad
        >>> x = minigrad.tensor(np.ones((2, 3))); w = minigrad.tensor(np.ones((3, 4)))
        >>> y = dropconnect_linear(x, w, None, 0.5, training=True, rng=0)
        >>> y.shape, dropconnect_linear(x, w, None, 0.5, training=False).data[0]
        ((2, 4), array([3., 3., 3., 3.]))
    """
    x, weight = matrix_operands("dropconnect_linear", x, weight)
    if bias is not None:
        x, bias = as_operands("dropconnect_linear", x, bias)
    p = check_probability("dropconnect probability p", p, allow_one=False)
    training = check_bool("dropconnect_linear: training", training)
    mask = check_choice("dropconnect_linear: mask", mask, MASKS)
    inverted = check_bool("dropconnect_linear: inverted", inverted)
    activation = check_choice("dropconnect_linear: activation", activation, ACTIVATIONS)
    inference = check_choice("dropconnect_linear: inference", inference, INFERENCES)
    samples = check_int("dropconnect_linear: samples", samples, minimum=1)
    use_relu = activation == "relu"
    if training and p > 0 and mask == "example":
        z = DropConnect.apply(*((x, weight) if bias is None else (x, weight, bias)), p=p,
                              seed=draw_seed(rng), inverted=inverted)
        return relu(z) if use_relu else z
    if training and p > 0:  # one mask for the batch: dropout on W (its backward masks dW)
        thinned = dropout(weight, p, True, rng=rng, inverted=inverted)
        return fused_linear(x, thinned, bias, relu=use_relu)
    if training or inference == "mean":  # p == 0 in training: nothing is dropped
        mean_weight = weight if training or inverted or p == 0 else weight * (1.0 - p)
        return fused_linear(x, mean_weight, bias, relu=use_relu)
    with no_grad():
        out = moment_matching(x.data, weight.data, None if bias is None else bias.data, p,
                              inverted, activation, samples, draw_seed(rng))
    return Tensor(out)
