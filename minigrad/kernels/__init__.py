"""Kernels: the hot loops, in two implementations behind one validating dispatch layer.

- ``reference``: plain-numpy twins, the readable specification and test oracle;
- ``minigrad._ext``: the compiled Cython kernels (built from ``_ext/*.pyx``);
- ``dispatch``: validates input, allocates outputs, calls the implementation
  selected in ``minigrad.backend``. The rest of minigrad only calls ``dispatch``.
"""
