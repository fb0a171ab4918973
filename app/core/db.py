"""Engine, the per-request transaction and the same transaction scope for CLI commands."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from app.core import audit
from app.core.config import Settings
from app.core.driver import DRIVER


def async_url(url: str) -> str:
    """Accept the plain ``postgresql://`` form that tools and operators use, drive it with asyncpg."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def sync_url(url: str) -> str:
    """Alembic and test helpers run synchronously through psycopg 3."""
    parsed = make_url(url).set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def create_engine_for(url: str, settings: Settings) -> AsyncEngine:
    return create_async_engine(
        async_url(url),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        connect_args={"server_settings": {"application_name": "hibah"}},
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def transaction(
    sessions: async_sessionmaker[AsyncSession], *, request_id: str | None = None
) -> AsyncIterator[AsyncSession]:
    """Commit when the block succeeds, roll back on any error: the whole request or command, or nothing.

    The audit events the block recorded are appended last, inside the same transaction.
    """
    async with sessions() as session:
        try:
            async with session.begin():
                session.info[audit.REQUEST_ID] = request_id
                yield session
                if session.new or session.dirty or session.deleted:  # the money path writes past the ORM
                    await session.flush()
                await audit.append_pending(session)
        finally:
            session.info.pop(DRIVER, None)
