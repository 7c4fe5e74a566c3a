"""minigrad.checks: what each validator accepts, what it returns, and its one message style."""
import math
from fractions import Fraction

import numpy as np
import pytest

from minigrad.checks import (check_bool, check_choice, check_int, check_number,
                             check_probability, check_real, check_sizes)

HUGE = 10**400  # an int no float can hold


@pytest.mark.parametrize("call, result", [
    (lambda: check_bool("b", np.bool_(True)), True),
    (lambda: check_int("n", np.int64(7), minimum=1), 7),
    (lambda: check_int("n", 2**64 - 1, minimum=0, maximum=2**64 - 1), 2**64 - 1),
    (lambda: check_number("x", float("nan")), math.nan),
    (lambda: check_number("x", HUGE), math.inf),
    (lambda: check_number("x", -HUGE), -math.inf),
    (lambda: check_real("x", np.float32(0.5), 0, 1), 0.5),
    (lambda: check_real("x", 1, 0, 1), 1.0),
    (lambda: check_probability("p", 1), 1.0),
    (lambda: check_probability("p", np.int64(0), allow_one=False), 0.0),
    (lambda: check_choice("c", "b", ("a", "b")), "b"),
    (lambda: check_sizes("h", [np.int32(3), 4]), (3, 4)),
    (lambda: check_sizes("h", ()), ()),
], ids=["np.bool_", "np.int64", "2**64-1", "nan", "huge", "-huge", "np.float32",
        "int", "p-1", "p-np-int", "choice", "sizes", "no-sizes"])
def test_accepted_values_come_back_in_their_plain_type(call, result):
    value = call()
    if isinstance(result, float) and math.isnan(result):
        assert math.isnan(value)
    else:
        assert value == result and type(value) is type(result)


@pytest.mark.parametrize("call, exc, message", [
    (lambda: check_bool("SGD: nesterov", 1), TypeError, "SGD: nesterov must be a bool, got int 1"),
    (lambda: check_int("n", 2.0), TypeError, "n must be an int, got float 2.0"),
    (lambda: check_int("n", True), TypeError, "n must be an int, got bool True"),
    (lambda: check_int("n", np.array(3)), TypeError, "n must be an int, got ndarray array(3)"),
    (lambda: check_int("n", "3", type_error=ValueError), ValueError,
     "n must be an int, got str '3'"),
    (lambda: check_int("n", 0, minimum=1), ValueError, "n must be >= 1, got 0"),
    (lambda: check_int("n", np.int64(65), maximum=64), ValueError, "n must be <= 64, got 65"),
    (lambda: check_int(None, -1, minimum=0), ValueError, "must be >= 0, got -1"),
    (lambda: check_number("x", "1"), TypeError, "x must be a real number, got str '1'"),
    (lambda: check_number("x", Fraction(1, 2)), TypeError,
     "x must be a real number, got Fraction Fraction(1, 2)"),
    (lambda: check_number("x", None, type_error=ValueError), ValueError,
     "x must be a real number, got NoneType None"),
    (lambda: check_real("x", math.inf), ValueError, "x must be a finite number, got inf"),
    (lambda: check_real("c", 0, low=0, low_open=True), ValueError,
     "c must be a positive finite number, got 0"),
    (lambda: check_real("c", math.nan, low=0, low_open=True), ValueError,
     "c must be a positive finite number, got nan"),
    (lambda: check_real("c", HUGE, low=0, low_open=True), ValueError,
     "c must be a positive finite number, got 100000000000000000...0000000000000000000"),
    (lambda: check_real("w", -1e-4, low=0), ValueError,
     "w must be a finite number >= 0, got -0.0001"),
    (lambda: check_real("m", 1.0, 0, 1, high_open=True), ValueError,
     "m must be in [0, 1), got 1.0"),
    (lambda: check_real("f", 0, 0, 1, low_open=True), ValueError, "f must be in (0, 1], got 0"),
    (lambda: check_probability("dropout probability p", 1.5), ValueError,
     "dropout probability p must be in [0, 1], got 1.5"),
    (lambda: check_probability("p", 1.0, allow_one=False), ValueError,
     "p must be in [0, 1), got 1.0"),
    (lambda: check_choice("mode", "paper", ("a", "b")), ValueError,
     "mode must be one of ('a', 'b'), got 'paper'"),
    (lambda: check_choice("mode", ["a"], ("a", "b")), ValueError,
     "mode must be one of ('a', 'b'), got ['a']"),
    (lambda: check_sizes("hidden", (4, 0)), ValueError, "hidden[1] must be >= 1, got 0"),
    (lambda: check_sizes(None, (4, 0)), ValueError, "must be >= 1, got 0"),
    (lambda: check_sizes("hidden", (4.0,)), TypeError, "hidden[0] must be an int, got float 4.0"),
    (lambda: check_sizes("hidden", 16.5), TypeError,
     "hidden must be a sequence of layer sizes, got float 16.5"),
    (lambda: check_sizes("hidden", "16"), TypeError,
     "hidden must be a sequence of layer sizes, got str '16'"),
], ids=["bool", "int-float", "int-bool", "int-0-d-array", "int-as-value-error", "int-minimum", "int-maximum",
        "no-name", "number-str", "number-fraction", "number-as-value-error", "real-inf",
        "positive-0", "positive-nan", "positive-huge", "non-negative", "half-open", "open-closed",
        "probability", "probability-one", "choice", "choice-unhashable", "sizes", "sizes-no-name",
        "sizes-float", "sizes-not-a-sequence", "sizes-str"])
def test_refusals_say_name_requirement_and_value(call, exc, message):
    with pytest.raises(exc) as info:
        call()
    assert type(info.value) is exc and str(info.value) == message


@pytest.mark.parametrize("p, exc", [
    (-0.1, ValueError), (1.5, ValueError), (float("nan"), ValueError), (float("inf"), ValueError),
    (HUGE, ValueError), (np.float32("nan"), ValueError), ("0.5", TypeError), (None, TypeError),
    (True, TypeError), (np.bool_(False), TypeError), (0.5 + 0j, TypeError), ([0.5], TypeError),
    (Fraction(1, 2), TypeError), (np.array(0.5), TypeError),
])
def test_probability_refuses_what_the_kernels_refuse(p, exc):
    """The cases tests/nn/test_bad_input_nn.py holds for every entry point of the drop probability."""
    with pytest.raises(exc, match="dropout probability p"):
        check_probability("dropout probability p", p)
