"""Shared test configuration; the tests are organised as the code is, one folder a floor.

* ``autograd/``: the Tensor, the ops, gradients against finite differences, the backward
  pass and its misuse checks, the validators, the import graph;
* ``kernels/``: every compiled kernel against its numpy twin, the backend switch,
  threads, forks and bit-for-bit determinism;
* ``nn/``: layers, initialisation, fusion, max-norm, SGD and schedules;
* ``data/``: IDX files, the dataset loaders and downloads, minibatches;
* ``training/``: the training loop, checkpoints, histories and plots, the command line;
* ``sweep/``: ``minigrad sweep``: grids, trials, the local pool and Dask, summaries;
* ``docs/``: the README, the guided tour, every docstring example and the examples/;
* ``support/``: what tests of several floors share (backend switching, memory layouts,
  bit-level assertions, the bad-input checker, repository paths).

``tests/`` is on ``sys.path`` (pytest puts a rootdir conftest's folder there), so a test
in any folder imports ``support.layouts`` and the like.

Hypothesis profiles: ``default`` for development, ``ci`` (selected when the CI
environment variable is set) with a fixed derandomised search so a CI run is
reproducible. No deadline: timings on shared 2-core machines are noisy, and speed is
measured in bench/, never asserted in tests.
"""
import os

import pytest
from hypothesis import HealthCheck, settings

from support.backends import backend_settings

settings.register_profile("default", deadline=None, max_examples=60,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", deadline=None, max_examples=60, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "default")


@pytest.fixture(params=["compiled", "numpy"])
def each_backend(request):
    """Run the test once on each kernel backend (``minigrad.using_backend``); yields its name."""
    with backend_settings(request.param):
        yield request.param
