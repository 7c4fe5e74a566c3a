"""The README's Python example runs as written."""
import re

import pytest

from support.paths import REPO

README = REPO / "README.md"


def test_readme_example_runs():
    if not README.exists():
        pytest.skip("README.md is not beside the tests (installed without the source tree)")
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README.md has no python example"
    namespace = {}
    exec(compile(blocks[0], str(README), "exec"), namespace)
    assert namespace["predictions"].shape == (100,)
