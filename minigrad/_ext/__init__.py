"""Compiled Cython kernels, built from the top-level ``_ext/*.pyx`` sources by setup.py.

Never import from here directly: ``minigrad.kernels`` validates input and chooses
between these modules and their numpy twins in ``minigrad.kernels.reference``.
"""
