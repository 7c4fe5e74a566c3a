"""Where the repository's files are, for tests in any folder (tests/<floor>/test_*.py)."""
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench"
EXAMPLES = REPO / "examples"
DOCS = REPO / "docs"


def bench_script(name):
    """Import ``bench/<name>.py`` as a module (skipping the test when this tree has no bench/,
    as an installed package does not)."""
    import importlib.util

    import pytest

    path = BENCH / f"{name}.py"
    if not path.exists():
        pytest.skip(f"bench/{name}.py is not in this tree")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
