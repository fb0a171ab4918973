"""The audit domain's SQL: the chain's head, the stored signing key, the checkpoints."""

import asyncpg

from app.core.seal import new_seed

HEAD = "SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1"
STORE_SEED = "INSERT INTO audit_signing_key (id, private_key) VALUES (1, $1) ON CONFLICT (id) DO NOTHING"
STORED_SEED = "SELECT private_key FROM audit_signing_key WHERE id = 1"


async def head(sql: asyncpg.Connection) -> tuple[int, str] | None:
    row = await sql.fetchrow(HEAD)
    return None if row is None else (int(row["seq"]), str(row["hash"]))


async def stored_seed(sql: asyncpg.Connection) -> bytes:
    """The instance's key seed, made on first use. Two first uses at once: the second waits for the first's
    row (ON CONFLICT) and both sign with it."""
    seed: bytes | None = await sql.fetchval(STORED_SEED)
    if seed is None:
        await sql.execute(STORE_SEED, new_seed())
        seed = await sql.fetchval(STORED_SEED)
    assert seed is not None
    return bytes(seed)
