"""What counts as the database being out of reach, as opposed to a request or a bug that the database refused.

One test, used by the transaction (to throw away a dead connection and the pool's other, as stale, ones), by the
read pool (to retry a single-row read once on a fresh connection), by ``/readyz`` and by the error handlers (a
503 ``database_unavailable`` with ``Retry-After``, not a 500).
"""

import errno
import logging
import socket
from collections.abc import Iterator

import asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

_OUTAGE_SQLSTATES = frozenset(("57P01", "57P02", "57P03", "53300"))
"""Admin shutdown, crash shutdown, cannot connect now (starting up or recovering), too many connections; and
every ``08xxx`` (connection exception)."""
_NETWORK_ERRNOS = frozenset(
    (
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EPIPE,
        errno.ENOENT,  # a Unix socket that is not there: the embedded server is down
        errno.ETIMEDOUT,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.EHOSTDOWN,
    )
)


class CommitInDoubt(ConnectionError):
    """The connection was lost while the transaction's COMMIT was under way: the database may have kept the work
    or not, and nothing here can tell which. Raised by the transaction from the outage itself (still an outage,
    a 503), so that the answer does not claim that nothing was written."""

    def __init__(self) -> None:
        super().__init__("the connection to the database was lost during COMMIT: the work may or may not be kept")


def in_doubt(exc: BaseException) -> bool:
    """True when ``exc`` is (or was raised from) a commit whose outcome is unknown."""
    return any(isinstance(error, CommitInDoubt) for error in _chain(exc))


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The error, and what SQLAlchemy wrapped (``orig``) or it was raised from, a few levels deep."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen or len(seen) > 8:
            continue
        seen.add(id(current))
        yield current
        pending.extend((getattr(current, "orig", None), current.__cause__, current.__context__))


def is_outage(exc: BaseException) -> bool:
    """True when ``exc`` says the database could not be reached, or the connection to it was lost."""
    return any(_says_outage(error) for error in _chain(exc))


def _says_outage(error: BaseException) -> bool:
    if isinstance(error, PoolTimeout | ConnectionError | TimeoutError | socket.gaierror):
        return True  # the network, or every connection of the pool busy past the pool's timeout
    if isinstance(error, DBAPIError):
        return bool(error.connection_invalidated)
    if isinstance(error, asyncpg.PostgresError):
        state = getattr(error, "sqlstate", None) or ""
        return state.startswith("08") or state in _OUTAGE_SQLSTATES
    if isinstance(error, asyncpg.InterfaceError | asyncpg.InternalClientError):
        # The second: the server ended the session mid-statement (a shutdown, a crash), asyncpg is left waiting
        # for an answer that never comes and says so on the next statement (sqlalchemy/sqlalchemy#13241).
        return any(sign in str(error) for sign in ("connection is closed", "another operation"))
    if isinstance(error, OSError):
        return error.errno in _NETWORK_ERRNOS or _multiple_connect_errors(error)
    return False


def _multiple_connect_errors(error: OSError) -> bool:
    """asyncpg joins the failures of each address it tried into one ``OSError('Multiple exceptions: …')``."""
    return error.errno is None and "Connect call failed" in str(error)


def describe(exc: BaseException) -> str:
    """One short line for the log: the innermost error's class and message, no traceback."""
    innermost = exc
    for error in _chain(exc):
        innermost = error
        if getattr(error, "orig", None) is None:
            break
    text = str(innermost).strip().splitlines()
    return f"{type(innermost).__name__}: {text[0] if text else ''}"


class _OutageInOneLine(logging.Filter):
    """The pools log what fails while the database is down (asyncpg refilling its pool, SQLAlchemy closing a dead
    connection) with a traceback, SQLAlchemy's at ERROR: for an outage, one WARNING line says it (the 503s and
    their lines say the rest). Anything else is left as it is."""

    def filter(self, record: logging.LogRecord) -> bool:
        raised = record.exc_info[1] if record.exc_info else None
        if raised is not None and is_outage(raised):
            record.msg = f"{record.getMessage()}: {describe(raised)}"
            record.args = None
            record.exc_info = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


# Filters of a logger apply to its own records only, so the loggers are named as the libraries name them.
for _logger in ("asyncpg.pool", "sqlalchemy.pool.impl.AsyncAdaptedQueuePool", "sqlalchemy.pool.impl.QueuePool"):
    logging.getLogger(_logger).addFilter(_OutageInOneLine())
