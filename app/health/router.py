"""Liveness and readiness, for load balancers and orchestrators."""

import logging

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

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
    status: str
    database: bool
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
    """The database is reachable and its schema is at the latest migration (503 otherwise); the replicas' state."""
    expected = head_revision()
    current: str | None = None
    reachable = False
    try:
        async with request.app.state.engine.connect() as connection:
            reachable = True
            current = (
                await connection.execute(sa.text("SELECT version_num FROM alembic_version"))
            ).scalar_one_or_none()
    except Exception as exc:  # noqa: BLE001 - any failure to reach or read the database means "not ready"
        log.warning("readiness check failed: %s", exc)
    ready = reachable and current == expected
    body = Readiness(
        status="ready" if ready else "not_ready",
        database=reachable,
        schema_revision=current,
        expected_revision=expected,
        replicas=[ReplicaState(**replica.state()) for replica in request.app.state.replicas.replicas],
    )
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)
