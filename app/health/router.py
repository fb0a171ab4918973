"""Liveness and readiness, for load balancers and orchestrators."""

import asyncio
import logging
from typing import Literal

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.outage import describe
from app.core.revisions import head_revision

log = logging.getLogger("hibah.health")
router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


class ReplicaState(BaseModel):
    name: str
    up: bool
    in_use: bool
    """Up and within the lag allowed (HIBAH_REPLICA_MAX_LAG_S): it takes reads."""
    lag_seconds: float | None
    error: str | None


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    database: Literal["up", "down"]
    """``down``: the database cannot be reached (the 503's cause); ``up`` with ``not_ready``: its schema is not at
    the code's latest migration."""
    schema_revision: str | None
    expected_revision: str | None
    replicas: list[ReplicaState] = []
    """Each streaming replica (DATABASE_REPLICA_URL) at its last check; one down does not make the node unready:
    its reads go to the primary."""


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """The process is alive."""
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
async def readyz(request: Request) -> JSONResponse:
    """Which dependency is down, if any: the database reachable (``database``: ``up`` or ``down``) and its
    schema at the latest migration; 503 unless both. The replicas' state beside (one down is not unready)."""
    expected = head_revision()
    settings = request.app.state.settings
    reachable, current = False, None
    # Twice: a pooled connection that died with a restarted server is thrown away by the first try.
    for _attempt in (1, 2):
        try:
            async with asyncio.timeout(settings.db_connect_timeout_s):
                reachable, current = True, await _schema_revision(request.app.state.engine)
            break
        except Exception as exc:  # noqa: BLE001 - any failure to reach or read the database means "not ready"
            reachable = False
            problem = exc
    else:
        log.warning("readiness: database down: %s", describe(problem))
    ready = reachable and current == expected
    body = Readiness(
        status="ready" if ready else "not_ready",
        database="up" if reachable else "down",
        schema_revision=current,
        expected_revision=expected,
        replicas=[ReplicaState(**replica.state()) for replica in request.app.state.replicas.replicas],
    )
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


async def _schema_revision(engine: AsyncEngine) -> str | None:
    """The schema's migration, None on a database never migrated (reachable all the same: not an outage)."""
    async with engine.connect() as connection:
        if (await connection.execute(sa.text("SELECT to_regclass('alembic_version')"))).scalar_one() is None:
            return None
        revision: str | None = (
            await connection.execute(sa.text("SELECT version_num FROM alembic_version"))
        ).scalar_one_or_none()
        return revision
