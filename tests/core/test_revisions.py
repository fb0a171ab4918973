"""The head revision read from the migration scripts without Alembic, held to Alembic's own answer."""

from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

from app.core.migrate import MIGRATIONS
from app.core.revisions import head_of, head_revision


def test_the_head_is_alembics() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert head_revision() == ScriptDirectory.from_config(config).get_current_head()


def script(directory: Path, revision: str, down: str) -> None:
    (directory / f"{revision}_change.py").write_text(
        f'"""A change."""\n\nrevision: str = {revision!r}\ndown_revision = {down}\nbranch_labels = None\n'
    )


def test_a_merge_has_one_head_and_branches_have_none(tmp_path: Path) -> None:
    script(tmp_path, "a1", "None")
    script(tmp_path, "b1", "'a1'")
    script(tmp_path, "b2", "'a1'")
    assert head_of(tmp_path) is None, "two heads: Alembic would refuse to pick one"
    script(tmp_path, "m1", "('b1', 'b2')")
    assert head_of(tmp_path) == "m1"
