"""The request's transaction and the app's settings, as FastAPI dependencies."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request

from app.core.config import Settings
from app.core.db import Transaction
from app.core.http import ROUTE_TRANSACTION
from app.core.replicas import request_transaction


async def db_transaction(request: Request) -> AsyncIterator[Transaction]:
    opened = getattr(request.state, ROUTE_TRANSACTION, None)
    if opened is not None:  # a money write's, opened by its route (app.core.http.MoneyRoute)
        yield opened
        return
    # The primary, or a replica for a read that may go there (app/core/replicas.py).
    async with request_transaction(request) as tx:
        yield tx


# scope="function": the transaction ends (commit or rollback) before the response is sent, so a client
# never sees a 201 for a write that then fails to commit, nor reads its own write before it is visible.
Tx = Annotated[Transaction, Depends(db_transaction, scope="function")]


def app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(app_settings)]
"""The settings the app was built with (tests build apps with their own), never re-read from the environment."""
