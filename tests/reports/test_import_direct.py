"""The CSV import's direct path (COPY straight into usage_item, then rules.CELL_CHECKS on what it wrote) and its
way back to the staging path: a file ends the same, stored or refused with the same rows named, whichever path
took it. Expected values are worked out by hand from the rules and from PostgreSQL's CSV format."""

from decimal import Decimal
from typing import Any

import httpx
import psycopg
import pytest

from app.reports import importer
from app.reports.rules import COLUMNS
from tests.helpers import EVIDENCE, Grant, count, new_report

HEADER = "spent_on,category,stage,description,amount,payee,document_number,evidence_sha256\n"


def _import(client: httpx.Client, report_id: int, recipient: dict[str, str], body: str) -> httpx.Response:
    return client.post(
        f"/usage-reports/{report_id}/items/import", content=body, headers={**recipient, "Content-Type": "text/csv"}
    )


def test_rows_whose_text_is_well_formed_but_break_a_rule_are_named(
    client: httpx.Client, paid: Grant, recipient: dict[str, str], db: psycopg.Connection[Any]
) -> None:
    """Every cell here reads as a date, an amount, a code, a text: only the database and the rules refuse them
    (after the direct COPY, or in it), and the file is refused whole with each bad row named."""
    report = new_report(client, paid, recipient)  # period 2023-12-04 .. 2025-03-31
    good = f"2024-11-27,logistik,logistik,Kotak suara,1000,,,{EVIDENCE}\n"
    bad = {
        2: ("2025-06-01,logistik,logistik,x,100,,,\n", "spent_on"),  # after the period
        3: ("2024-11-27,logistik,logistik,x,0,,,\n", "amount"),  # not positive
        4: ("2024-11-27,logistik,logistik,x,9999999999999999,,,\n", "amount"),  # above MONEY_MAX
        5: ("2024-11-27,makan,logistik,x,100,,,\n", "category"),  # no such code
        6: ("2024-11-27,logistik,logistik," + "d" * 501 + ",100,,,\n", "description"),  # 501 characters
        7: ("2024-11-27,logistik,logistik,x,100,,KW-" + "9" * 98 + ",\n", "document_number"),  # 101 characters
    }
    body = HEADER + good + "".join(bad[n][0] for n in range(2, 8)) + good
    response = _import(client, report["id"], recipient, body)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "import_rejected"
    assert problem["bad_rows"] == 6
    assert {(row["row"], row["column"]) for row in problem["rows"]} == {(n, column) for n, (_, column) in bad.items()}
    assert count(db, "usage_item") == 0
    # Rows that no constraint of usage_item refuses: only the rules' check after the COPY catches them.
    only_rules = [good, bad[2][0], good, bad[6][0], "2024-11-27,logistik,logistik,x,100," + "p" * 201 + ",,\n"]
    response = _import(client, report["id"], recipient, HEADER + "".join(only_rules))
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["bad_rows"] == 3
    assert {(row["row"], row["column"]) for row in problem["rows"]} == {
        (2, "spent_on"),
        (4, "description"),
        (5, "payee"),
    }
    assert count(db, "usage_item") == 0


def test_a_quote_inside_an_unquoted_cell_is_read_as_postgresql_reads_it(
    client: httpx.Client, paid: Grant, recipient: dict[str, str], db: psycopg.Connection[Any]
) -> None:
    """In PostgreSQL's CSV a quote anywhere opens a quoted part, so these two lines are one row whose description
    runs from ``Kotak 12`` to ``Segel`` across the line end (Python's csv would read two rows)."""
    report = new_report(client, paid, recipient)
    body = HEADER + '2024-11-27,logistik,logistik,Kotak 12" kardus,100,,,\n2024-11-28,logistik,logistik,Segel",200,,,\n'
    response = _import(client, report["id"], recipient, body)
    assert response.status_code == 201, response.text
    assert (response.json()["rows"], response.json()["total"]) == (1, "200.00")
    stored = db.execute("SELECT spent_on::text, description, amount FROM usage_item").fetchall()
    assert stored == [("2024-11-27", "Kotak 12 kardus,100,,,\n2024-11-28,logistik,logistik,Segel", Decimal("200.00"))]


def test_both_paths_store_the_same_rows(
    client: httpx.Client, paid: Grant, recipient: dict[str, str], db: psycopg.Connection[Any]
) -> None:
    """The same rows with line feeds (the direct path) and with CR LF (the staging path: PostgreSQL insists on
    one kind of line end, Python's csv does not): trimmed texts, empty optional cells as NULL, the digest in
    either case stored as its bytes, a backslash kept, columns in the header's order and an optional one absent."""
    header = "amount,description,spent_on,stage,category,evidence_sha256,payee\n"
    rows = [
        f"1500.5, Kotak suara ,2024-11-27, logistik , logistik ,{EVIDENCE.upper()},  \n",
        '850000,"Honor KPPS, TPS 001",2024-11-28,pemungutan_suara,honorarium_adhoc,, Warga 1 \n',
        "10,C:\\batas,2024-11-29,logistik,logistik,,\n",  # a backslash: escaped for COPY's text format
    ]
    expected = [
        ("2024-11-27", "logistik", "logistik", "Kotak suara", Decimal("1500.50"), None, None, EVIDENCE),
        (
            "2024-11-28",
            "honorarium_adhoc",
            "pemungutan_suara",
            "Honor KPPS, TPS 001",
            Decimal("850000.00"),
            "Warga 1",
            None,
            None,
        ),
        ("2024-11-29", "logistik", "logistik", "C:\\batas", Decimal("10.00"), None, None, None),
    ]
    for line_end in ("\n", "\r\n"):
        report = new_report(client, paid, recipient)
        body = (header + "".join(rows)).replace("\n", line_end)
        response = _import(client, report["id"], recipient, body)
        assert response.status_code == 201, response.text
        assert (response.json()["rows"], response.json()["total"]) == (3, "851510.50")
        stored = db.execute(
            "SELECT spent_on::text, category, stage, description, amount, payee, document_number,"
            " encode(evidence_sha256, 'hex') FROM usage_item WHERE report_id = %s ORDER BY id",
            (report["id"],),
        ).fetchall()
        assert stored == expected, line_end


def test_the_direct_path_takes_clean_rows_and_doubts_the_rest() -> None:
    """The encoder in isolation: a clean row becomes one COPY text line (written out by hand), so a clean file
    does take the direct path; each doubtful row sends the file the staging path instead."""
    encode = importer._encoder(list(COLUMNS), 7)
    clean = f'2024-11-27, logistik ,logistik,"Kotak, suara",1500.5,,KW-1,{EVIDENCE}\n'
    assert encode(clean) == f"7\t2024-11-27\tlogistik\tlogistik\tKotak, suara\t1500.5\t\\N\tKW-1\t\\\\x{EVIDENCE}\n"
    doubtful = [
        "2024-02-30,logistik,logistik,x,1,,,\n",  # no such day
        "2024-11-27 ,logistik,logistik,x,1,,,\n",  # a date with a space
        "2024-11-27,logistik,logistik,x,1e3,,,\n",  # not MONEY_PATTERN
        '2024-11-27,logistik,logistik,x,"1\n",,,\n',  # a line end after the amount
        "2024-11-27,logistik,logistik,  ,1,,,\n",  # description empty once trimmed
        "2024-11-27,,logistik,x,1,,,\n",  # no category
        "2024-11-27,logistik,logistik,x,1,,,abc\n",  # evidence not 64 digits
        '2024-11-27,logistik,logistik,a"b,1,,,\n',  # a quote inside an unquoted cell
        '2024-11-27,logistik,logistik,"x,1,,,\n',  # a quote left open
        "2024-11-27,logistik,logistik,x,1,,\n",  # a cell short
    ]
    for row in doubtful:
        with pytest.raises(importer._Unsure):
            encode(row)
