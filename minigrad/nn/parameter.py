"""Parameter: a Tensor that a Module owns and an optimizer updates."""
import numpy as np

from ..tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor with ``requires_grad=True`` that ``Module`` registers automatically.

    ``constraint`` is an optional callable applied to the parameter after every
    optimizer step (e.g. ``MaxNorm(3.0)`` on a weight matrix). It is checked when it is
    attached: a constraint with a ``check(param)`` method (``MaxNorm`` has one) refuses
    there a parameter it cannot apply to, rather than in the middle of a step.

    The optimizer and the constraints update ``data`` in place, so a Parameter keeps
    writeable C-contiguous storage: a float array that already is one is shared (not
    copied); a read-only, transposed or strided one is copied.
    """

    __slots__ = ("_constraint",)

    def __init__(self, data, requires_grad=True, dtype=None, constraint=None):
        super().__init__(data, requires_grad=requires_grad, dtype=dtype)
        self.data = np.require(self.data, requirements=["C", "W"])
        self.constraint = constraint

    @property
    def constraint(self):
        return self._constraint

    @constraint.setter
    def constraint(self, constraint):
        if constraint is not None:
            if not callable(constraint):
                raise TypeError(f"Parameter: constraint must be callable (e.g. MaxNorm(3.0)) "
                                f"or None, got {type(constraint).__name__}")
            check = getattr(constraint, "check", None)
            if check is not None:
                check(self)
        self._constraint = constraint

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
