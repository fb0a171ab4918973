"""``hibah keys``: API keys made, listed and revoked by the operator of the machine."""

import typer

from app.access import service as access
from app.access.schemas import KeyCreate
from app.commands.database import run_in_transaction
from app.core.actor import OPERATOR, Role
from app.core.db import Transaction
from app.core.pagination import PageRequest


def create(*, role: Role, name: str, region_code: str | None, recipient_id: int | None) -> None:
    data = KeyCreate(name=name, role=role, recipient_id=recipient_id, region_code=region_code)
    key, secret = run_in_transaction(lambda tx: access.create_key(tx, OPERATOR, data))
    said = f"created key {key.id} ({key.role.value}) for {key.name}; store it now, it is not shown again:"
    typer.echo(said, err=True)
    typer.echo(secret)


async def _all_keys(tx: Transaction) -> list[str]:
    lines = []
    after = None
    while True:
        page = await access.list_keys(tx, PageRequest(limit=500, after=after))
        for key in page.data:
            state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
            scope = f" recipient={key.recipient_id}" if key.recipient_id else ""
            scope += f" region={key.region_code}" if key.region_code else ""
            lines.append(f"{key.id}\t{key.role.value}\t{key.prefix}…\t{state}\t{key.name}{scope}")
        if page.next_cursor is None:
            return lines
        after = [page.data[-1].id]


def list_all() -> None:
    lines = run_in_transaction(_all_keys)
    typer.echo("id\trole\tprefix\tstate\tname")
    for line in lines:
        typer.echo(line)


def revoke(key_id: int) -> None:
    run_in_transaction(lambda tx: access.revoke_key(tx, OPERATOR, key_id))
    typer.echo(f"revoked key {key_id}")
