"""``hibah audit checkpoint``: seal the audit chain's head, for the operator's cron."""

import typer

from app.audit import service
from app.audit.schemas import CheckpointOut
from app.commands.database import run_in_transaction
from app.core.actor import OPERATOR
from app.core.config import get_settings
from app.core.db import Transaction


async def _seal(tx: Transaction) -> CheckpointOut:
    return CheckpointOut.of(await service.make_checkpoint(tx, get_settings(), OPERATOR))


def checkpoint() -> None:
    sealed = run_in_transaction(_seal)
    typer.echo(f"sealed seq {sealed.seq} as checkpoint {sealed.id} with key {sealed.key_id}", err=True)
    typer.echo(sealed.model_dump_json())
