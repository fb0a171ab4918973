"""A failed command as one line (or a few, for a file's bad rows), never a traceback."""

import logging
import socket

import asyncpg
import typer
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

from app.core import observability
from app.core.errors import DomainError

MAX_ROW_ERRORS = 20

log = logging.getLogger("hibah.cli")


def explain(exc: Exception) -> list[str] | None:
    """What to tell the operator about ``exc``; ``None`` for a fault in the program (its traceback is the
    report)."""
    if isinstance(exc, DomainError):
        return _domain(exc)
    if isinstance(exc, DBAPIError):
        return [_through_sqlalchemy(exc)]
    message = _from_the_driver_or_system(exc)
    return None if message is None else [message]


def _through_sqlalchemy(exc: DBAPIError) -> str:
    if isinstance(exc, OperationalError):
        return f"cannot reach the database: {_first_line(exc)}"
    if isinstance(exc, ProgrammingError) and "does not exist" in str(exc.orig):
        return "the database has no Hibah schema yet: run `hibah migrate` first"
    return f"the database refused: {_first_line(exc)}"


def _from_the_driver_or_system(exc: Exception) -> str | None:
    if isinstance(exc, (asyncpg.UndefinedFunctionError, asyncpg.UndefinedTableError)):
        return "the database schema is behind: run `hibah migrate` first"
    if isinstance(exc, asyncpg.PostgresError):  # statements sent on the driver connection (app/core/db.py)
        return f"the database refused: {str(exc).splitlines()[0]}"
    if isinstance(exc, (ConnectionError, socket.gaierror, TimeoutError)):
        return f"cannot reach the database: {exc}"
    if isinstance(exc, (OSError, ValueError)):
        return str(exc)
    return None


def _domain(exc: DomainError) -> list[str]:
    lines = [exc.detail]
    lines += [f"  {error.field}: {error.message}" for error in exc.errors[:MAX_ROW_ERRORS]]
    if len(exc.errors) > MAX_ROW_ERRORS:
        lines.append(f"  … and {len(exc.errors) - MAX_ROW_ERRORS} more")
    return lines


def _first_line(exc: DBAPIError) -> str:
    lines = str(exc.orig).strip().splitlines()
    return lines[0] if lines else type(exc.orig).__name__


def report(exc: Exception) -> None:
    """Tell the operator what failed: ``error: …`` on stderr, or in a process whose lines are all log lines
    (``serve``), an ERROR line. A fault in the program is raised again where its traceback is the report,
    and logged with it in a process that logs."""
    lines = explain(exc)
    if observability.process_logging_configured():
        if lines is None:
            log.error("stopped by an unexpected error", exc_info=exc)
        else:
            log.error("\n".join(lines))
        return
    if lines is None:
        raise exc
    typer.secho(f"error: {lines[0]}", err=True, fg="red")
    for line in lines[1:]:
        typer.echo(line, err=True)
