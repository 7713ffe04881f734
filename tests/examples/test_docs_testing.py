"""Every code example of docs/testing.md, run: the ``<!-- example: NAME -->`` blocks as one
partner's test project (with and without xdist), the ``<!-- script: NAME -->`` ones as scripts."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

PAGE = Path(__file__).resolve().parents[2] / "docs" / "testing.md"
BLOCK = re.compile(r"<!-- (example|script): (\S+) -->\n```python\n(.*?)```", re.DOTALL)


def blocks(kind: str) -> dict[str, str]:
    found = {
        name: code
        for what, name, code in BLOCK.findall(PAGE.read_text(encoding="utf-8"))
        if what == kind
    }
    assert found, f"docs/testing.md has no {kind} blocks"
    return found


def test_every_python_block_of_the_page_is_run():
    fenced = PAGE.read_text(encoding="utf-8").count("```python")
    assert fenced == len(blocks("example")) + len(blocks("script"))


@pytest.mark.parametrize("args", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_the_examples_pass(pytester, args):
    examples = blocks("example")
    for name, code in examples.items():
        pytester.path.joinpath(name).write_text(code, encoding="utf-8")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=300)
    tests = sum(len(re.findall(r"^def test_", code, re.MULTILINE)) for code in examples.values())
    result.assert_outcomes(passed=tests)


@pytest.mark.parametrize("name", sorted(blocks("script")))
def test_the_scripts_run(tmp_path, name):
    script = tmp_path / name
    script.write_text(blocks("script")[name], encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
