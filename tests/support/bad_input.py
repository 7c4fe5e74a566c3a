"""What the bad-input tests share: the error checker and small constructors."""
import re

import numpy as np
import pytest

import minigrad as mg

MAX_THREADS = mg.kernels.backend.MAX_THREADS
NON_TENSORS = {"ndarray": np.ones((2, 3), np.float32), "list": [[1.0, 2.0]], "None": None,
               "float": 1.5}
HUGE = 10**400  # an int no float can hold


def expect_error(exc_type, *words):
    """Return a checker: the call raises exactly ``exc_type`` and the message has ``words``."""
    def check(call):
        with pytest.raises(exc_type) as info:
            call()
        assert isinstance(info.value, exc_type)
        message = str(info.value)
        for word in words:
            assert re.search(word, message, re.IGNORECASE), (word, message)
    return check


def f32(*shape, fill=1.0):
    return mg.tensor(np.full(shape, fill, dtype=np.float32))
