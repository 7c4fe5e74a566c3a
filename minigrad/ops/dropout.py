"""Dropout (Srivastava, Hinton, Krizhevsky, Sutskever & Salakhutdinov, JMLR 15, 2014).

During training each unit is kept with probability ``1 - p`` and otherwise set to 0,
independently per element and per call, so every minibatch trains a different
"thinned" network drawn from the 2**n that share weights. This op uses *inverted*
dropout: kept units are scaled by ``1 / (1 - p)`` so that, for every unit,

    E[dropout(x)] = (1 - p) * x / (1 - p) + p * 0 = x,

and at test time the full network is used unchanged (``training=False`` is the
identity). The paper instead scales the *weights* by ``1 - p`` at test time;
``minigrad.nn.Dropout`` offers both, and they agree in expectation.

Backward: ``d(out)/d(x) = mask / (1 - p)``, reusing the mask drawn in the forward.

``shared_axes`` ties the mask along axes (one value per position of the other axes:
a per-minibatch unit mask, or Gal & Ghahramani's variational dropout over time); see
``minigrad.ops.shared_axes``.
"""
import numpy as np

from ..checks import check_bool, check_probability
from ..kernels import dispatch
from ..random import draw_seed
from ..tensor import Function
from .broadcasting import check_tensor
from .shared_axes import check_shared_axes, check_shared_mask, shared_keep_mask


class Dropout(Function):
    """d(out)/dx = mask / (1 - p) (mask alone when not inverted): kept units pass the gradient."""

    def forward(self, x, p, seed, mask, inverted):
        self.p, self.inverted = p, inverted
        if mask is None:
            out, self.mask = dispatch.dropout_forward(x, p, seed, inverted)
        else:
            out, self.mask = dispatch.apply_dropout_mask(x, mask, p, inverted), mask
        return out

    def backward(self, grad):
        return (dispatch.apply_dropout_mask(grad, self.mask, self.p, self.inverted),)


def _check_mask(mask, shape):
    """A user-given keep-mask as a uint8 array of 0/1, shaped like the input."""
    mask = np.asarray(mask)
    if mask.shape != shape:
        raise ValueError(f"dropout: mask shape {mask.shape} != input shape {shape}")
    if mask.dtype == bool:
        return mask.view(np.uint8)
    if mask.dtype.kind not in "iuf":
        raise TypeError(f"dropout: mask must be bool or 0/1 numbers, got dtype {mask.dtype}")
    if not np.all((mask == 0) | (mask == 1)):
        raise ValueError("dropout: mask values must be 0 (dropped) or 1 (kept)")
    return mask.astype(np.uint8)


def dropout(x, p, training, rng=None, mask=None, return_mask=False, *, inverted=True,
            shared_axes=()):
    """Randomly zero elements of ``x`` with probability ``p``; scale the rest by 1/(1-p).

    Args:
        x: Tensor, any shape.
        p: probability of *dropping* a unit, in [0, 1]. The paper's retention
            probability is ``1 - p`` (0.8 for inputs and 0.5 for hidden units there).
        training: required, no default (PyTorch's ``F.dropout(training=True)`` default
            silently drops units at evaluation time). ``False`` returns ``x`` unchanged.
        rng: None (the library Generator, reset by ``minigrad.manual_seed``), an int
            seed, or a ``numpy.random.Generator``. One 64-bit seed is drawn from it per
            call; the mask is a hash of that seed and each element's index, so it is
            the same for any thread count and for the compiled and numpy kernels.
        mask: optional keep-mask (bool or 0/1, shaped like ``x``) used as is instead of
            drawing one: replays a thinned network exactly. Kept units are still
            scaled by 1/(1-p).
        return_mask: also return the keep-mask used (bool array; None when dropout is
            inactive, i.e. ``training=False`` or ``p == 0`` without a given mask).
        inverted: scale kept units by 1/(1-p) (default). ``False`` leaves them
            unscaled: the paper's rule, where the *test-time* network multiplies by
            ``1 - p`` instead (``minigrad.nn.Dropout(mode="weight_scaling")``).
        shared_axes: the axes along which one mask value is shared (an int or a tuple
            of ints, negative counting from the end; default ``()``, every element its
            own). The mask is drawn at ``x``'s shape with these axes reduced to 1 and
            broadcast: ``(0,)`` on ``(batch, units)`` drops the same units for the whole
            batch, ``(1,)`` on ``(batch, time, features)`` is variational dropout (see
            ``minigrad.ops.shared_axes`` for Keras's ``noise_shape`` and Flax's
            ``broadcast_dims``). A given ``mask`` must be constant along these axes.

    Returns:
        The thinned tensor, or ``(tensor, mask)`` when ``return_mask``. With ``p == 1``
        every unit is dropped and the result is all zeros (never inf or NaN). A dropped
        unit's output is exactly 0 even where ``x`` is NaN or inf: the unit is removed.
        The returned mask is shaped like ``x`` (broadcast along shared axes).

    Example::

        >>> import minigrad
        >>> x = minigrad.tensor([[1.0, 2.0, 3.0, 4.0]])
        >>> y, keep = dropout(x, 0.5, training=True, rng=0, return_mask=True)
        >>> bool(((y.data == 0) | (y.data == 2 * x.data)).all())
        True
        >>> batch = minigrad.tensor(np.ones((3, 4)))
        >>> keep = dropout(batch, 0.5, training=True, rng=0, return_mask=True,
        ...                shared_axes=(0,))[1]
        >>> bool((keep == keep[0]).all())   # one unit mask for every row
        True
    """
    check_tensor("dropout", x)
    p = check_probability("dropout probability p", p)
    training = check_bool("dropout: training", training)
    shared_axes = check_shared_axes("dropout", shared_axes, x.ndim)
    if mask is not None:
        if not training:
            raise ValueError("dropout: a mask replays training-mode dropout; "
                             "it needs training=True")
        mask = _check_mask(mask, x.shape)
        check_shared_mask("dropout", mask, shared_axes)
    elif not training or p == 0.0:
        return (x, None) if return_mask else x
    elif shared_axes:
        mask = shared_keep_mask(x.shape, shared_axes, p, draw_seed(rng))
    seed = draw_seed(rng) if mask is None else None
    out, op = Dropout.apply_returning_op(x, p=p, seed=seed, mask=mask, inverted=bool(inverted))
    return (out, op.mask.view(bool)) if return_mask else out
