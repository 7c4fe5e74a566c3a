"""The validators of every scalar argument: one function per kind of value, one message style.

A value from the user is checked once, where it enters minigrad (a layer's constructor,
``SGD``, ``TrainConfig``, the command line through TrainConfig's fields), by one of the
functions below. Each returns the value in its plain Python type (``float``, ``int``,
``bool``) and raises

* ``TypeError`` for a value of the wrong kind:
  ``TypeError: SGD: lr must be a real number, got str '0.1'``;
* ``ValueError`` for a value of the right kind out of range:
  ``ValueError: MaxNorm: c must be a positive finite number, got nan``.

Every message reads ``"{name} must be {what}, got {value}"``. ``name`` says whose argument
it is (``"SGD: lr"``, ``"Linear: in_features"``); it is None where the caller names the
argument itself (argparse prints ``argument --lr: must be ...``). A range is written as
it is checked: an interval ``in [0, 1)``, or ``a finite number >= 0`` (``a positive
finite number`` for ``> 0``) when it has no upper end; an int names the bound it broke
(``>= 1``, ``<= 64``). Shown values are shortened, so a 400-digit int or an array does
not flood the message.

What counts as what:

* a real number: a Python ``int`` or ``float`` or a numpy integer or floating scalar, not
  a bool (``True`` is a mistake, not 1.0); an int too large for a float counts as
  infinite. Complex numbers, strings, 0-d arrays and ``Fraction`` are not real numbers
  here: convert them explicitly.
* an int: a Python ``int`` or a numpy integer scalar, not a bool; a float is never
  truncated (``3.9`` is not 3), and a 0-d array is not an int.
* a bool: ``True``, ``False`` or a numpy bool, not 0 or 1.

``type_error=ValueError`` makes a wrong kind a ``ValueError`` too, for the entry points
that have always raised ``ValueError`` for every bad value (``Linear``'s sizes), so that
code catching their errors keeps working.

Arrays (dtype, shape, contiguity) are checked by ``minigrad.kernels.dispatch``, which
guards kernels compiled without bounds checks; nothing here looks at arrays.

Example::

    >>> check_real("SGD: momentum", 0.9, 0, 1, high_open=True)
    0.9
    >>> check_int("Linear: in_features", 0, minimum=1)
    Traceback (most recent call last):
        ...
    ValueError: Linear: in_features must be >= 1, got 0
"""
import math
import reprlib

import numpy as np

__all__ = ["check_bool", "check_int", "check_number", "check_real", "check_probability",
           "check_choice", "check_sizes"]

_INT_TYPES = (int, np.integer)
_REAL_TYPES = (int, float, np.integer, np.floating)
_BOOL_TYPES = (bool, np.bool_)


def _refuse(error, name, what, got):
    """The exception ``error`` with the one message style: ``{name} must be {what}, got {got}``."""
    return error(f"{name + ' ' if name else ''}must be {what}, got {got}")


def _kind(value):
    """``str '0.1'``: the type and the (shortened) value, for a value of the wrong kind."""
    return f"{type(value).__name__} {reprlib.repr(value)}"


def _shown(number):
    """A number of the right kind as a message shows it: ``0.5``, ``nan``, a long int cut short."""
    if isinstance(number, _INT_TYPES):
        return reprlib.repr(int(number))
    return str(number)


def check_bool(name, value):
    """Return ``value`` as a bool if it is ``True``/``False`` (or a numpy bool), else TypeError."""
    if value is True or value is False:  # the common case first: these run per op call
        return value
    if not isinstance(value, _BOOL_TYPES):
        raise _refuse(TypeError, name, "a bool", _kind(value))
    return bool(value)


def check_int(name, value, minimum=None, maximum=None, *, type_error=TypeError):
    """Return ``value`` as an int if it is one within ``[minimum, maximum]`` (None: no bound).

    A wrong kind raises ``type_error``; a bound broken raises ValueError naming that bound.
    """
    if type(value) is not int and (isinstance(value, _BOOL_TYPES)
                                   or not isinstance(value, _INT_TYPES)):
        raise _refuse(type_error, name, "an int", _kind(value))
    number = int(value)
    if minimum is not None and number < minimum:
        raise _refuse(ValueError, name, f">= {minimum}", _shown(number))
    if maximum is not None and number > maximum:
        raise _refuse(ValueError, name, f"<= {maximum}", _shown(number))
    return number


def check_number(name, value, *, type_error=TypeError):
    """Return ``value`` as a float if it is a real number of any value (NaN and inf included).

    An int beyond the float range becomes ``inf`` or ``-inf``.
    """
    if type(value) is float:  # the common case first: these run per op call
        return value
    if isinstance(value, _BOOL_TYPES) or not isinstance(value, _REAL_TYPES):
        raise _refuse(type_error, name, "a real number", _kind(value))
    try:
        return float(value)
    except OverflowError:  # an int too large for a float
        return math.inf if value > 0 else -math.inf


def check_real(name, value, low=-math.inf, high=math.inf, *, low_open=False, high_open=False,
               type_error=TypeError):
    """Return ``value`` as a float if it is a real number in the interval from ``low`` to ``high``.

    Each end is included unless it is open (``low_open``, ``high_open``); an infinite end
    is never included, so the defaults ask for any finite number and
    ``check_real(name, c, low=0, low_open=True)`` for a positive finite one. NaN is in no
    interval.
    """
    number = check_number(name, value, type_error=type_error)
    above = number > low if (low_open or low == -math.inf) else number >= low
    below = number < high if (high_open or high == math.inf) else number <= high
    if not (above and below):
        raise _refuse(ValueError, name, _interval(low, high, low_open, high_open),
                      _shown(value))
    return number


def _interval(low, high, low_open, high_open):
    """How ``check_real`` words its interval: ``in [0, 1)``, ``a positive finite number``,
    ``a finite number >= 0``."""
    if low == -math.inf and high == math.inf:
        return "a finite number"
    if high == math.inf:
        if low == 0 and low_open:
            return "a positive finite number"
        return f"a finite number {'>' if low_open else '>='} {low:g}"
    if low == -math.inf:
        return f"a finite number {'<' if high_open else '<='} {high:g}"
    return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"


def check_probability(name, p, *, allow_one=True, type_error=TypeError):
    """Return the drop probability ``p`` as a float in [0, 1] ([0, 1) unless ``allow_one``).

    ``p = 1`` drops every unit: a valid (if useless) dropout, but no network can be
    trained through it, so the models and ``TrainConfig`` refuse it.
    """
    return check_real(name, p, 0, 1, high_open=not allow_one, type_error=type_error)


def check_choice(name, value, choices):
    """Return ``value`` if it is one of ``choices`` (by hash and equality), else ValueError.

    A value of the wrong kind (``None``, a number, an array) is simply not a choice, so
    it is a ValueError too.
    """
    if type(value) is str and type(choices) is tuple and value in choices:  # common: no set
        return value
    try:
        known = value in frozenset(choices)
    except TypeError:  # unhashable: a list, an array
        known = False
    if not known:
        raise _refuse(ValueError, name, f"one of {tuple(choices)!r}", reprlib.repr(value))
    return value


def check_sizes(name, sizes, *, type_error=TypeError):
    """Return the layer sizes ``sizes`` (an iterable of ints >= 1, maybe empty) as a tuple.

    Each size is checked by ``check_int`` as ``{name}[i]`` (as None when ``name`` is).
    """
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
        raise _refuse(type_error, name, "a sequence of layer sizes", _kind(sizes))
    return tuple(check_int(None if name is None else f"{name}[{i}]", size, minimum=1,
                           type_error=type_error)
                 for i, size in enumerate(tuple(sizes)))
