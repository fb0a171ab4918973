"""The request's database session: one transaction per request, committed only when the handler succeeds."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.db import transaction


async def db_session(request: Request) -> AsyncIterator[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    async with transaction(sessions, request_id=getattr(request.state, "request_id", None)) as session:
        yield session


# scope="function": the transaction ends (commit or rollback) before the response is sent, so a client
# never sees a 201 for a write that then fails to commit, nor reads its own write before it is visible.
Session = Annotated[AsyncSession, Depends(db_session, scope="function")]
