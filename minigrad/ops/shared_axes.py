"""Shared (tied) dropout masks: one mask value for every position along chosen axes.

``shared_axes`` names the axes along which ONE mask value (or one noise value) is shared:
the mask is drawn at the input's shape with those axes reduced to size 1, and broadcast
back. Every other axis gets independent values. The meaning is Keras's ``shared_axes``
of ``PReLU`` (the axes that share one parameter); the other libraries spell the same
thing so:

=============================  ================================  ===========================
minigrad ``shared_axes``       Keras ``noise_shape``             Flax ``broadcast_dims``
=============================  ================================  ===========================
the axes that share one value  the mask's shape: 1 on exactly    the same axes as
                               those axes, the input's size on   ``shared_axes``
                               the others
``()`` (the default)           ``None`` (the input's shape)      ``()``
``(0,)`` for ``(B, U)``        ``(1, U)``                        ``(0,)``
``(1,)`` for ``(B, T, F)``     ``(B, 1, F)``                     ``(1,)``
=============================  ================================  ===========================

The two cases worth knowing:

* ``shared_axes=(0,)`` on a ``(batch, units)`` input: one unit mask for the whole
  minibatch, so every example of the batch trains the same thinned network.
* ``shared_axes=(1,)`` on a ``(batch, time, features)`` sequence: variational dropout
  (Gal & Ghahramani, "A Theoretically Grounded Application of Dropout in Recurrent
  Neural Networks", NeurIPS 2016, section 4): each sequence drops the same features at
  every time step, instead of a fresh mask per step.

Counters: the reduced mask is drawn as dropout draws any array, element ``k`` of it
(C order *in the reduced shape*) by counter ``k``. So a shared axis of size 1 changes
nothing: the mask is bit for bit the unshared one.

Example::

    >>> mask_shape((8, 20, 32), check_shared_axes("dropout", (1,), 3))   # variational
    (8, 1, 32)
    >>> check_shared_axes("dropout", (-1, 0), 3)
    (0, 2)
"""
import numpy as np

from ..checks import check_int
from ..kernels import dispatch


def check_shared_axes(op, shared_axes, ndim=None):
    """Return ``shared_axes`` (an int or a tuple/list of ints) as a sorted tuple.

    With ``ndim`` (the input's number of axes) each axis must be in
    ``[-ndim, ndim)`` and is returned non-negative; two axes naming the same one
    (``(1, -1)`` for 2-D) are refused. Without it (a layer's constructor, before it
    sees an input) only the kinds and literal duplicates are checked.
    """
    if shared_axes == () and type(shared_axes) is tuple:  # the default: nothing shared
        return ()
    name = f"{op}: shared_axes"
    if isinstance(shared_axes, (int, np.integer)) and not isinstance(shared_axes, bool):
        shared_axes = (shared_axes,)
    if not isinstance(shared_axes, (tuple, list)):
        raise TypeError(f"{name} must be an int or a tuple of ints, "
                        f"got {type(shared_axes).__name__}")
    low, high = (None, None) if ndim is None else (-ndim, ndim - 1)
    axes = [check_int(f"{name}[{i}] (an axis of an input with {ndim} axes)"
                      if ndim is not None else f"{name}[{i}]", axis, low, high)
            for i, axis in enumerate(shared_axes)]
    if ndim is not None:
        axes = [axis % ndim for axis in axes]
    if len(set(axes)) != len(axes):
        raise ValueError(f"{name} must name each axis once, got {tuple(shared_axes)!r}")
    return tuple(sorted(axes))


def mask_shape(shape, shared_axes):
    """The shape the mask is drawn at: ``shape`` with every shared axis reduced to 1."""
    return tuple(1 if axis in shared_axes else n for axis, n in enumerate(shape))


def shared_keep_mask(shape, shared_axes, p, seed):
    """Dropout's uint8 keep-mask of stream ``seed`` drawn at the reduced shape, broadcast to ``shape``.

    The mask is the one :func:`minigrad.kernels.dispatch.dropout_forward` draws for an
    array of the reduced shape (its output is discarded: the reduced array is small).
    The broadcast is materialised (C-contiguous, one byte an element), because the
    kernels that apply it read a flat array, forward and backward.
    """
    reduced = np.zeros(mask_shape(shape, shared_axes), dtype=np.float32)
    _, mask = dispatch.dropout_forward(reduced, p, seed)
    return np.ascontiguousarray(np.broadcast_to(mask, shape))


def check_shared_mask(op, mask, shared_axes):
    """Refuse a given keep-mask that is not constant along ``shared_axes``."""
    first = mask[tuple(slice(0, 1) if axis in shared_axes else slice(None)
                       for axis in range(mask.ndim))]
    if not np.array_equal(mask, np.broadcast_to(first, mask.shape)):
        raise ValueError(f"{op}: the given mask differs along shared_axes {shared_axes}; "
                         "a shared mask has one value along each shared axis")
