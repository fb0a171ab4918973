"""The schema revision the code expects, read from the migration scripts without importing Alembic.

Alembic and the scripts it imports cost more than a short command's whole work (``hibah keys create`` on the
embedded database checks its schema on every run); reading two assignments from each script is enough to know
the head. tests/core/test_revisions.py holds this to Alembic's own answer.
"""

import ast
from functools import lru_cache
from pathlib import Path

VERSIONS = Path(__file__).resolve().parents[2] / "migrations" / "versions"


def _assignments(script: Path) -> dict[str, object]:
    """The script's top-level ``revision`` and ``down_revision``, as literals."""
    found: dict[str, object] = {}
    for node in ast.parse(script.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            name, value = node.target.id, node.value
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name, value = node.targets[0].id, node.value
        else:
            continue
        if name in ("revision", "down_revision"):
            found[name] = ast.literal_eval(value)
    return found


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    """The revision the code's schema is at (the scripts do not change while it runs)."""
    return head_of(VERSIONS)


def head_of(versions: Path) -> str | None:
    """The one revision no other script in ``versions`` builds on; ``None`` when there is none, or several."""
    revisions: set[str] = set()
    built_on: set[str] = set()
    for script in versions.glob("*.py"):
        found = _assignments(script)
        revision = found.get("revision")
        if not isinstance(revision, str):
            continue
        revisions.add(revision)
        below = found.get("down_revision")
        built_on.update(below if isinstance(below, (tuple, list)) else [below] if isinstance(below, str) else [])
    heads = revisions - built_on
    return heads.pop() if len(heads) == 1 else None
