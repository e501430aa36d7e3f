"""The matching package is pure: services call it, it never reaches for the web or the database."""

import ast
from pathlib import Path

import lti_app.matching

PACKAGE = Path(lti_app.matching.__file__).parent
FORBIDDEN_ROOTS = {"flask", "sqlalchemy", "flask_sqlalchemy", "lti_app.models", "lti_app.extensions"}


def imported_modules(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_no_flask_or_database_imports():
    for path in PACKAGE.glob("*.py"):
        for module in imported_modules(path):
            banned = any(module == root or module.startswith(root + ".") for root in FORBIDDEN_ROOTS)
            assert not banned, (path.name, module)
