"""Where the repository's files are, for tests in any folder (tests/<floor>/test_*.py)."""
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench"
EXAMPLES = REPO / "examples"
DOCS = REPO / "docs"
