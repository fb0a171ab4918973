"""usage_item as PostgreSQL keeps it (migration 0006): its references and the evidence digest are enforced by
the database itself, once per statement, and the API still speaks hex."""

import hashlib
import re
import threading
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import psycopg
import pytest
from alembic import command
from psycopg import errors
from sqlalchemy.engine import make_url

from app.core.migrate import alembic_config
from app.core.types import DATE_PATTERN, EARLIEST_DATE, LATEST_DATE, parse_date
from app.reports import rules
from tests.helpers import EVIDENCE, Grant, KeyMaker, count, draft_report, item, new_report, read_workbook

DIGEST = hashlib.sha256(b"kwitansi").digest()
OTHER = hashlib.sha256(b"nota").hexdigest()
INSERT = (
    "INSERT INTO usage_item (report_id, spent_on, category, stage, description, amount)"
    " VALUES (%s, '2024-11-27', %s, %s, 'x', 1)"
)


def _libpq(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def _item_id(db: psycopg.Connection[Any]) -> int:
    row = db.execute("SELECT id FROM usage_item ORDER BY id LIMIT 1").fetchone()
    assert row is not None
    return int(row[0])


def test_the_digest_is_stored_as_32_bytes_and_shown_as_hex(
    client: httpx.Client, paid: Grant, recipient: dict[str, str], db: psycopg.Connection[Any], make_key: KeyMaker
) -> None:
    without = item()
    del without["evidence_sha256"]
    report = draft_report(client, paid, recipient, item(evidence_sha256=EVIDENCE.upper()), without)
    stored = [row[0] for row in db.execute("SELECT evidence_sha256 FROM usage_item ORDER BY id")]
    assert stored == [DIGEST, None]
    listed = client.get(f"/usage-reports/{report['id']}/items", headers=recipient).json()["data"]
    assert [row["evidence_sha256"] for row in listed] == [EVIDENCE, None]

    auditor = make_key("auditor")
    lines = client.get("/exports/usage-items.csv", headers=auditor).text.splitlines()
    assert lines[0].endswith(",evidence_sha256")
    assert [line.rsplit(",", 1)[1] for line in lines[1:]] == [EVIDENCE, ""]
    sheet = next(iter(read_workbook(client.get("/exports/usage-items.xlsx", headers=auditor).content).values()))
    column = sheet[0].index("evidence_sha256")
    assert [row[column] for row in sheet[1:]] == [EVIDENCE, None]

    patched = client.patch(f"/usage-items/{_item_id(db)}", json={"evidence_sha256": OTHER}, headers=recipient)
    assert patched.status_code == 200, patched.text
    assert patched.json()["evidence_sha256"] == OTHER
    assert db.execute("SELECT evidence_sha256 FROM usage_item ORDER BY id").fetchone() == (bytes.fromhex(OTHER),)


def test_the_database_refuses_items_that_point_nowhere(
    client: httpx.Client, paid: Grant, recipient: dict[str, str], db: psycopg.Connection[Any]
) -> None:
    report_id = draft_report(client, paid, recipient, item())["id"]
    cases = [
        ((report_id + 1000, "logistik", "logistik"), "fk_usage_item_report_id_usage_report"),
        ((report_id, "makan", "logistik"), "fk_usage_item_category_category_code"),
        ((report_id, "logistik", "pesta"), "fk_usage_item_stage_stage_code"),
    ]
    for values, constraint in cases:
        with pytest.raises(errors.ForeignKeyViolation) as caught:
            db.execute(INSERT, values)
        assert caught.value.diag.constraint_name == constraint
    # One bad key among 500 good rows refuses the whole statement.
    with pytest.raises(errors.ForeignKeyViolation, match="category_code"):
        db.execute(
            "INSERT INTO usage_item (report_id, spent_on, category, stage, description, amount)"
            " SELECT %s, '2024-11-27', CASE WHEN n = 250 THEN 'makan' ELSE 'logistik' END, 'logistik', 'x', 1"
            " FROM generate_series(1, 500) AS n",
            (report_id,),
        )
    with pytest.raises(errors.ForeignKeyViolation, match="stage_code"):
        db.execute("UPDATE usage_item SET stage = 'pesta'")
    with pytest.raises(errors.CheckViolation, match="ck_usage_item_evidence_sha256_length"):
        db.execute("UPDATE usage_item SET evidence_sha256 = '\\x00'::bytea")
    assert count(db, "usage_item") == 1


def test_what_items_use_cannot_be_deleted_renamed_or_truncated(
    client: httpx.Client, paid: Grant, recipient: dict[str, str], db: psycopg.Connection[Any]
) -> None:
    report_id = draft_report(client, paid, recipient, item(category="lainnya", stage="pengamanan"))["id"]
    refused = [
        ("DELETE FROM usage_report WHERE id = %s", (report_id,), "fk_usage_item_report_id_usage_report"),
        ("UPDATE usage_report SET id = id + 1000 WHERE id = %s", (report_id,), "fk_usage_item_report_id_usage_report"),
        ("UPDATE category_code SET code = 'lain' WHERE code = 'lainnya'", (), "fk_usage_item_category_category_code"),
        ("DELETE FROM stage_code WHERE code = 'pengamanan'", (), "fk_usage_item_stage_stage_code"),
        ("TRUNCATE usage_report, usage_report_spend", (), "fk_usage_item_report_id_usage_report"),
    ]
    for statement, arguments, constraint in refused:
        with pytest.raises(errors.ForeignKeyViolation) as caught:
            db.execute(statement, arguments)
        assert caught.value.diag.constraint_name == constraint, statement
    assert count(db, "usage_item") == 1
    # Truncated together, nothing is left pointing anywhere: allowed, as with a foreign key.
    db.execute("TRUNCATE usage_item, usage_report, usage_report_spend")
    assert count(db, "usage_report") == 0


def test_a_report_deleted_while_items_are_added_to_it_waits_and_is_refused(
    client: httpx.Client, paid: Grant, recipient: dict[str, str], database_url: str
) -> None:
    """The statement check locks the report as a foreign key would: a concurrent DELETE waits for the insert's
    transaction, then sees its items."""
    report_id = new_report(client, paid, recipient)["id"]
    libpq = _libpq(database_url)
    outcome: list[BaseException | None] = []
    with psycopg.connect(libpq) as writer, psycopg.connect(libpq, autocommit=True) as deleter:
        writer.execute(INSERT, (report_id, "logistik", "logistik"))  # open transaction, report locked

        def delete() -> None:
            try:
                deleter.execute("DELETE FROM usage_report WHERE id = %s", (report_id,))
                outcome.append(None)
            except psycopg.Error as exc:
                outcome.append(exc)

        worker = threading.Thread(target=delete)
        worker.start()
        time.sleep(0.5)
        assert not outcome, "the DELETE did not wait for the inserting transaction"
        writer.commit()
        worker.join(timeout=10)
    assert len(outcome) == 1 and isinstance(outcome[0], errors.ForeignKeyViolation), outcome


def test_imported_rows_keep_the_files_order(
    client: httpx.Client, paid: Grant, recipient: dict[str, str], db: psycopg.Connection[Any]
) -> None:
    """The move reads the staging table without sorting it: ids follow the file over many pages."""
    report = new_report(client, paid, recipient)
    header = "spent_on,category,stage,description,amount,evidence_sha256\n"
    rows = [f"2024-11-27,logistik,logistik,Baris {n},{n}.50,{EVIDENCE if n % 2 else ''}\n" for n in range(1, 4001)]
    response = client.post(
        f"/usage-reports/{report['id']}/items/import",
        content=header + "".join(rows),
        headers={**recipient, "Content-Type": "text/csv"},
    )
    assert response.status_code == 201, response.text
    stored = db.execute("SELECT description, amount, evidence_sha256 FROM usage_item ORDER BY id").fetchall()
    assert [description for description, _, _ in stored] == [f"Baris {n}" for n in range(1, 4001)]
    assert sum(amount for _, amount, _ in stored) == sum(Decimal(n) + Decimal("0.50") for n in range(1, 4001))
    assert [evidence for _, _, evidence in stored[:2]] == [DIGEST, None]


def test_a_rejected_file_names_bad_dates_amounts_codes_and_hashes(
    client: httpx.Client, paid: Grant, recipient: dict[str, str], db: psycopg.Connection[Any]
) -> None:
    report = new_report(client, paid, recipient)
    header = "spent_on,category,stage,description,amount,evidence_sha256\n"
    good = f"2024-11-27,logistik,logistik,baik,100,{EVIDENCE}\n"
    bad = {
        2: ("2024-2-03,logistik,logistik,x,100,\n", "spent_on"),
        3: ("2023-02-29,logistik,logistik,x,100,\n", "spent_on"),
        4: ("27/11/2024,logistik,logistik,x,100,\n", "spent_on"),
        5: ("2024-11-27,logistik,logistik,x,1.234,\n", "amount"),
        6: ("2024-11-27,logistik,logistik,x,1e3,\n", "amount"),
        7: ("2024-11-27,makan,logistik,x,100,\n", "category"),
        8: ("2024-11-27,logistik,pesta,x,100,\n", "stage"),
        9: (f"2024-11-27,logistik,logistik,x,100,{EVIDENCE[:-1]}\n", "evidence_sha256"),
        10: (f"2024-11-27,logistik,logistik,x,100,{EVIDENCE[:-1]}g\n", "evidence_sha256"),
    }
    lines = [good] + [bad[n][0] for n in range(2, 11)] + [good, f" 2024-11-27 ,logistik,logistik,x, 5 ,{EVIDENCE}\n"]
    named = {(n, column) for n, (_, column) in bad.items()} | {(12, "spent_on"), (12, "amount")}
    response = client.post(
        f"/usage-reports/{report['id']}/items/import",
        content=header + "".join(lines),
        headers={**recipient, "Content-Type": "text/csv"},
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "import_rejected"
    assert body["bad_rows"] == len(bad) + 1
    assert {(row["row"], row["column"]) for row in body["rows"]} == named
    assert count(db, "usage_item") == 0


def test_the_imports_calendar_is_the_dates_definition(db: psycopg.Connection[Any]) -> None:
    """rules.CALENDAR (and CALENDAR_TEXTS) stand for DATE_PATTERN and parse_date in the import: the same texts."""
    texts = {text for (text,) in db.execute(f"SELECT * FROM {rules.CALENDAR} AS calendar(text)")}
    days = (LATEST_DATE - EARLIEST_DATE).days + 1
    assert texts == {(EARLIEST_DATE + timedelta(days=n)).isoformat() for n in range(days)}
    assert texts == rules.CALENDAR_TEXTS  # the import's direct path (Python) reads dates by the same list
    assert all(re.fullmatch(DATE_PATTERN, text) and parse_date(text) for text in texts)
    for outside in ("1999-12-31", "2101-01-01", "2024-02-30", "2023-02-29", "2024-2-03", "2024-02-03 "):
        assert outside not in texts


def test_the_migration_converts_items_both_ways(database_url: str) -> None:
    """0005 → 0006 → 0005 on a database of its own, with items in it: hex text to bytes and back, and the
    foreign keys restored (they validate every row)."""
    name = f"{make_url(database_url).database}_migration"
    admin, own = _libpq(database_url, "postgres"), _libpq(database_url, name)
    with psycopg.connect(admin, autocommit=True) as server:
        server.execute(f'DROP DATABASE IF EXISTS "{name}"')
        server.execute(f'CREATE DATABASE "{name}"')
    try:
        config = alembic_config(own)
        command.upgrade(config, "0005")
        with psycopg.connect(own, autocommit=True) as db:
            _seed_0005(db)
        command.upgrade(config, "0006")
        with psycopg.connect(own, autocommit=True) as db:
            rows = db.execute("SELECT evidence_sha256 FROM usage_item ORDER BY id").fetchall()
            assert rows == [(DIGEST,), (None,)]
        command.downgrade(config, "0005")
        with psycopg.connect(own, autocommit=True) as db:
            assert db.execute("SELECT evidence_sha256 FROM usage_item ORDER BY id").fetchall() == [(EVIDENCE,), (None,)]
            foreign_keys = db.execute(
                "SELECT conname FROM pg_constraint WHERE conrelid = 'usage_item'::regclass AND contype = 'f'"
                " ORDER BY conname"
            ).fetchall()
            assert [key for (key,) in foreign_keys] == [
                "fk_usage_item_category_category_code",
                "fk_usage_item_report_id_usage_report",
                "fk_usage_item_stage_stage_code",
            ]
            with pytest.raises(errors.CheckViolation):
                db.execute("UPDATE usage_item SET evidence_sha256 = 'ABC'")
        command.upgrade(config, "head")
    finally:
        with psycopg.connect(admin, autocommit=True) as server:
            server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _seed_0005(db: psycopg.Connection[Any]) -> None:
    db.execute("INSERT INTO region (code, name, level) VALUES ('35', 'Jawa Timur', 'province')")
    db.execute("INSERT INTO region (code, name, level, parent_code) VALUES ('35.74', 'Kota Probolinggo', 'city', '35')")
    db.execute(
        "INSERT INTO election (id, name, kind, region_code, voting_day)"
        " VALUES (1, 'Pilwali', 'mayor', '35.74', '2024-11-27')"
    )
    db.execute("INSERT INTO recipient (id, name, kind, region_code) VALUES (1, 'KPU', 'kpu', '35.74')")
    db.execute(
        "INSERT INTO agreement (id, number, election_id, recipient_id, region_code, province_code, recipient_kind,"
        " signed_on, scheme, original_amount, amount)"
        " VALUES (1, 'NPHD/1', 1, 1, '35.74', '35', 'kpu', '2024-02-05', 'staged', 1000, 1000)"
    )
    db.execute(
        "INSERT INTO usage_report (id, agreement_id, kind, title, period_start, period_end)"
        " VALUES (1, 1, 'interim', 'Laporan', '2024-06-01', '2024-11-30')"
    )
    db.execute(
        "INSERT INTO usage_item (report_id, spent_on, category, stage, description, amount, evidence_sha256)"
        " VALUES (1, '2024-07-01', 'logistik', 'logistik', 'a', 1, %s),"
        " (1, '2024-07-01', 'logistik', 'logistik', 'b', 2, NULL)",
        (EVIDENCE,),
    )
