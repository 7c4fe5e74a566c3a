"""Parameter: a Tensor that a Module owns and an optimizer updates."""
import numpy as np

from ..tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor with ``requires_grad=True`` that ``Module`` registers automatically.

    ``constraint`` is an optional callable applied to the parameter after every
    optimizer step (e.g. ``MaxNorm(3.0)`` on a weight matrix).

    The optimizer and the constraints update ``data`` in place, so a Parameter keeps
    writeable C-contiguous storage: a float array that already is one is shared (not
    copied); a read-only, transposed or strided one is copied.
    """

    __slots__ = ("constraint",)

    def __init__(self, data, requires_grad=True, dtype=None, constraint=None):
        super().__init__(data, requires_grad=requires_grad, dtype=dtype)
        self.data = np.require(self.data, requirements=["C", "W"])
        self.constraint = constraint

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
