"""The portal's pages over the demo (Kota Probolinggo, DESIGN §1), loaded through the services as
`hibah serve --demo` loads it, and a client that reads pages as a browser does (no key)."""

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
import pytest

from app.core.config import Settings
from app.core.db import create_engine_for, transaction
from app.datasets.demo import load_demo


async def _load_demo(url: str) -> None:
    engine = create_engine_for(url, Settings())
    try:
        async with transaction(engine) as tx:
            await load_demo(tx)
    finally:
        await engine.dispose()


@pytest.fixture
def demo(database_url: str, db: psycopg.Connection[Any]) -> dict[str, int]:
    """The demo loaded; its agreement ids by recipient kind (kpu, bawaslu, polri, tni)."""
    # On a thread of its own: a test may already run an event loop here (Playwright's sync API does).
    with ThreadPoolExecutor(max_workers=1) as thread:
        thread.submit(asyncio.run, _load_demo(database_url)).result()
    return {kind: agreement_id for kind, agreement_id in db.execute("SELECT recipient_kind, id FROM agreement")}


@pytest.fixture
def site(server_address: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server_address, timeout=60) as http:
        yield http
