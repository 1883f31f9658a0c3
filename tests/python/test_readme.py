"""The snippets of py/README.md marked ``<!-- readme-test: NAME -->`` run as written: the blocks
of one name are joined and run in a fresh interpreter, and print what their comments say."""

import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest

README = Path(__file__).resolve().parents[2] / "py" / "README.md"


def snippets() -> Dict[str, str]:
    text = README.read_text(encoding="utf-8")
    found: Dict[str, List[str]] = {}
    for name, code in re.findall(r"<!-- readme-test: (\w+) -->\n```python\n(.*?)```", text, re.S):
        found.setdefault(name, []).append(code)
    return {name: "\n".join(blocks) for name, blocks in found.items()}


def test_the_readme_marks_its_runnable_snippets() -> None:
    assert sorted(snippets()) == ["async", "exchange", "fastapi", "flask"]


@pytest.mark.parametrize(
    "name, expected",
    [
        ("async", ["True 0.12"]),
        ("exchange", ["True"]),
        ("fastapi", ["200", "403 {'error': 'callback refused', 'reason': 'md5_mismatch'}", "s-1 True 0.24"]),
        ("flask", ["200", "s-1 False"]),
    ],
)
def test_snippet_runs(name: str, expected: List[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", snippets()[name]], capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTHONIOENCODING": "utf-8"},
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    for line in expected:
        assert line in lines, done.stdout
