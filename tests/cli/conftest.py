"""What the command-line tests share: a fresh working directory, as a new user would start in."""

import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A fresh directory (traversable by pgserver's own user), removed after the test."""
    directory = Path(tempfile.mkdtemp(prefix="hibah-cli-"))
    directory.chmod(0o755)
    yield directory
    subprocess.run(["rm", "-rf", str(directory)], check=False)
