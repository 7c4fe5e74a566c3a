"""Argument checks shared by the layers: one message style for one kind of mistake.

Each check raises ``TypeError`` for a value of the wrong kind and ``ValueError`` for a
value of the right kind out of range, with the owner ("Linear", "MaxNorm", ...), the
argument's name and the value in the message, e.g.
``ValueError: MaxNorm: c must be a positive finite number, got nan``.
"""
import math
import numbers

import numpy as np

__all__ = ["check_positive_finite"]


def check_positive_finite(owner, name, value):
    """Return ``value`` as a float if it is a real number > 0 and finite, else raise.

    Bools are not numbers here (``True`` is a mistake, not 1.0); an int too large for a
    float is not finite.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a real number, got {type(value).__name__}")
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an int beyond the float range
        finite = False
    if not (value > 0 and finite):
        raise ValueError(f"{owner}: {name} must be a positive finite number, got {value}")
    return float(value)
