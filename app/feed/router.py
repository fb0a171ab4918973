"""HTTP route of the change feed."""

from typing import Annotated

from fastapi import Depends, Query, Request, Response

from app.core.auth import PooledActor
from app.core.http import domain_router
from app.core.pagination import LIMIT_DEFAULT, LIMIT_MAX
from app.core.reads import ReadPool
from app.core.replicas import Reader, primary_reader_behind
from app.feed import service
from app.feed.listener import ChangeListener
from app.feed.schemas import ChangePage

router = domain_router("feed")
SEQ_MAX = 2**63 - 1
WAIT_MAX = 30


def change_listener(request: Request) -> ChangeListener:
    listener: ChangeListener = request.app.state.change_listener
    return listener


def shared_reads(request: Request) -> service.SharedReads:
    shared: service.SharedReads = request.app.state.feed_reads
    return shared


Listener = Annotated[ChangeListener, Depends(change_listener)]
Shared = Annotated[service.SharedReads, Depends(shared_reads)]
PrimaryBehind = Annotated[Reader | None, Depends(primary_reader_behind)]


@router.get(
    "/changes",
    response_model=ChangePage,
    description=(
        "Every committed change, in commit order (the audit chain's `seq`), with what it recorded, shown as the"
        " reads show it to the caller: no payee, document number or grant account number for the public."
        " Follow it by passing `next_cursor` back as `after`; with `wait` the request is held until something"
        " newer commits (then answered at once) or `wait` seconds pass (then answered with no entries)."
    ),
)
async def list_changes(
    reader: ReadPool,
    listener: Listener,
    shared: Shared,
    actor: PooledActor,
    primary: PrimaryBehind,
    after: Annotated[int, Query(ge=0, le=SEQ_MAX, description="Entries after this `seq` (0: from the start).")] = 0,
    limit: Annotated[int, Query(ge=1, le=LIMIT_MAX, description="Entries per answer.")] = LIMIT_DEFAULT,
    wait: Annotated[
        int,
        Query(ge=0, le=WAIT_MAX, description="Seconds to hold the request when there is nothing after `after` yet."),
    ] = 0,
) -> Response:
    page = await service.changes(reader, listener, shared, actor, after=after, limit=limit, wait=wait, primary=primary)
    # The answer to the same question changes as the ledger grows: a cache may keep it, but must ask again.
    return Response(page.model_dump_json(), media_type="application/json", headers={"Cache-Control": "no-cache"})
