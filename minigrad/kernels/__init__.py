"""Kernels: the hot loops, in two implementations behind one validating dispatch layer.

- ``reference``: plain-numpy twins, the readable specification and test oracle;
- ``minigrad._ext``: the compiled Cython kernels (built from the top-level ``_ext/*.pyx``);
- ``backend``: selects, per kernel, the compiled module or its twin, and the thread
  count (``minigrad.set_backend`` and friends are its public face);
- ``dispatch``: validates input, allocates outputs, calls the implementation
  ``backend`` selected. The rest of minigrad only calls ``dispatch``.

The imports run one way: ``dispatch`` -> ``backend`` -> ``reference`` (and the
compiled modules, imported by name in ``backend``).
"""
