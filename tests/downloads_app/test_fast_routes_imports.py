"""The fast routes share the views' rules through the model layer and the listing module
(APIKey.may_see, downloads_app/listing.py), never by importing the views (issue 21): a
rule they took from views.py would tie the thin layer to the thick one."""

import ast
from pathlib import Path

import downloads_app.fast_routes

FAST_ROUTES = Path(downloads_app.fast_routes.__file__).parent


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_no_fast_route_imports_the_views():
    importing = {
        path.name
        for path in FAST_ROUTES.glob("*.py")
        if any(module.endswith(".views") for module in imported_modules(path))
    }
    assert importing == set()
