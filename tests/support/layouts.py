"""The same values in every memory layout the kernels and ops meet: one builder for all tests.

A kernel reads raw memory, so a test must hand it more than C-ordered arrays. Each
function returns a numpy view holding exactly the values of ``a``, stored differently:

* ``strided``: a step of 2 on every axis (not contiguous in any order);
* ``negative-stride``: every axis reversed (negative strides) and reversed back;
* ``transposed``: Fortran order, i.e. the transpose of a C-ordered array, which the
  dispatch layer passes to the GEMM by flipping a flag instead of copying;
* ``read-only``: contiguous, with the writeable flag off.

``random_matrix`` draws a matrix of a given logical shape straight into a layout.
"""
import numpy as np


def strided(a):
    """A view with a step on every axis (non-contiguous)."""
    big = np.zeros(tuple(2 * n for n in a.shape), dtype=a.dtype)
    view = big[tuple(slice(None, None, 2) for _ in a.shape)]
    view[...] = a
    return view


def reversed_view(a):
    """A negative-stride view (every axis reversed twice over: same values)."""
    flipped = np.ascontiguousarray(a[tuple(slice(None, None, -1) for _ in a.shape)])
    return flipped[tuple(slice(None, None, -1) for _ in a.shape)]


def transposed(a):
    """A Fortran-ordered view holding the same values."""
    return np.ascontiguousarray(a.T).T


def read_only(a):
    """A contiguous copy that refuses writes."""
    view = a.copy()
    view.flags.writeable = False
    return view


VIEWS = {"strided": strided, "negative-stride": reversed_view, "transposed": transposed,
         "read-only": read_only}
LAYOUTS = ("contiguous",) + tuple(VIEWS)


def in_layout(a, layout):
    """``a``'s values stored as ``layout`` (one of ``LAYOUTS``; "contiguous" is a C copy)."""
    return np.ascontiguousarray(a).copy() if layout == "contiguous" else VIEWS[layout](a)


def views(a):
    """Every non-contiguous or read-only view of ``a``'s values, by name."""
    return {name: make(a) for name, make in VIEWS.items()}


def random_matrix(rng, shape, layout, dtype):
    """A standard-normal matrix of logical ``shape`` and ``dtype``, stored as ``layout``."""
    return in_layout(rng.standard_normal(shape).astype(dtype), layout)
