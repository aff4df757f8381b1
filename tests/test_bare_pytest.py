"""Bare `pytest` (not `python -m pytest`, which puts the working folder on sys.path) runs every test:
no test imports the `tests` folder as a package, which only the second way can import."""
from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).parent


def test_no_test_imports_the_tests_folder_as_a_package():
    offenders = []
    for path in sorted(TESTS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            offenders += [f"{path.name}:{node.lineno} {n}" for n in names if n == "tests" or n.startswith("tests.")]
    assert offenders == [], offenders
