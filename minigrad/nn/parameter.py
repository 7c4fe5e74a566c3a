"""Parameter: a Tensor that a Module owns and an optimizer updates."""
from ..tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor with ``requires_grad=True`` that ``Module`` registers automatically.

    ``constraint`` is an optional callable applied to the parameter after every
    optimizer step (e.g. ``MaxNorm(3.0)`` on a weight matrix).
    """

    __slots__ = ("constraint",)

    def __init__(self, data, requires_grad=True, dtype=None, constraint=None):
        super().__init__(data, requires_grad=requires_grad, dtype=dtype)
        self.constraint = constraint

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
