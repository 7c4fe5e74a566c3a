"""Test helper: 2-D arrays of a given logical shape in every memory layout the kernels meet."""

LAYOUTS = ("c", "f", "sliced", "reversed")


def view(rng, shape, layout, dtype):
    """A 2-D array of logical ``shape`` stored C-ordered, F-ordered, strided or reversed."""
    r, c = shape
    if layout == "c":
        return rng.standard_normal((r, c)).astype(dtype)
    if layout == "f":
        return rng.standard_normal((c, r)).astype(dtype).T
    if layout == "sliced":
        return rng.standard_normal((2 * r, c + 3)).astype(dtype)[::2, 1:c + 1]
    return rng.standard_normal((r, c)).astype(dtype)[::-1, ::-1]  # negative strides
