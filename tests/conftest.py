"""Shared test configuration.

Hypothesis profiles: ``default`` for development, ``ci`` (selected when the CI
environment variable is set) with a fixed derandomised search so a CI run is
reproducible. No deadline: timings on shared 2-core machines are noisy, and speed is
measured in bench/, never asserted in tests.
"""
import os

import pytest
from hypothesis import HealthCheck, settings

from backend_helpers import backend_settings

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
