"""Every ``>>>`` example in minigrad's docstrings and in docs/TOUR.md runs, on either backend.

The examples are documentation that executes (tinygrad's habit): an example that no
longer matches the code fails here, on the installed package and in CI on both
backends. Modules are found by walking the imported package, so a new module's
examples join without a list to keep.
"""
import doctest
import importlib
import pkgutil
import re

import numpy as np
import pytest

import minigrad
from support.paths import DOCS

OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
TOUR = DOCS / "TOUR.md"
MODULES = sorted(name for _, name, _ in pkgutil.walk_packages(minigrad.__path__, "minigrad.")
                 if not name.startswith(("minigrad._ext", "minigrad.__main__")))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    with np.printoptions(legacy=False):
        for test in finder.find(module, name):
            runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed"


def test_the_walk_finds_the_examples():
    # a broken walk (say, the package found under another name) would pass vacuously
    attempted = 0
    for name in MODULES:
        module = importlib.import_module(name)
        attempted += sum(len(t.examples) for t in doctest.DocTestFinder().find(module, name))
    assert {"minigrad.nn.linear", "minigrad.optim.sgd", "minigrad.data.idx"} <= set(MODULES)
    assert attempted >= 30, attempted


def test_the_guided_tour_runs():
    with np.printoptions(legacy=False):
        result = doctest.testfile(str(TOUR), module_relative=False, optionflags=OPTIONS,
                                  report=True)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {TOUR} failed"
    assert result.attempted >= 30, result.attempted


def test_the_api_reference_lists_every_module():
    packages = {name for _, name, is_package in pkgutil.walk_packages(minigrad.__path__,
                                                                     "minigrad.") if is_package}
    modules = set(MODULES) - packages  # a package's __init__ only re-exports
    listed = set(re.findall(r"^\.\. automodule:: ([\w.]+)$", (DOCS / "api.rst").read_text(),
                            re.MULTILINE))
    assert modules - listed == set(), "missing from docs/api.rst"
    assert listed - modules == set(), "docs/api.rst names modules that are not minigrad's"
