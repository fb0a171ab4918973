"""Driver options for a transaction pooler (PgBouncer ``pool_mode = transaction``) in front of PostgreSQL.

Behind such a pooler consecutive transactions of one client connection may run on different server
connections, so nothing may outlive a transaction on the server: not a prepared statement (asyncpg caches
them by default, SQLAlchemy's asyncpg dialect too), not a session advisory lock (the audit chain and the
demo take only ``pg_advisory_xact_lock``), not a temporary table (the item import's is ``ON COMMIT DROP``),
not a ``LISTEN``. ``HIBAH_DB_STATEMENT_CACHE=false`` turns the caches off (docs/scaling.md).
"""

from typing import Any
from uuid import uuid4

from app.core.config import Settings


def _statement_name() -> str:
    # SQLAlchemy's asyncpg dialect prepares named statements even with its cache off; a name used once cannot
    # meet a statement another client left on a pooled server connection (SQLAlchemy's documented remedy).
    return f"__asyncpg_{uuid4()}__"


def engine_connect_args(settings: Settings) -> dict[str, Any]:
    """``connect_args`` for SQLAlchemy's asyncpg dialect."""
    if settings.db_statement_cache:
        return {}
    return {
        "statement_cache_size": 0,
        "prepared_statement_cache_size": 0,
        "prepared_statement_name_func": _statement_name,
    }


def pool_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``asyncpg.create_pool`` (the hot-read pools)."""
    if settings.db_statement_cache:
        return {}
    return {"statement_cache_size": 0}
