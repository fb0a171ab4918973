"""usage_item: the same guarantees at a fraction of their cost per row.

A bulk load of 1,000,000 items paid ~7x what PostgreSQL needs to store them (issue #18): the evidence regex
CHECK (PostgreSQL builds a 64-state automaton for ``{64}`` on every call) and three foreign keys, each a
trigger that looks its key up once per row. Now:

* ``evidence_sha256`` is the digest itself, 32 bytes (``bytea``, CHECK ``octet_length = 32``), converted here
  with ``decode(…, 'hex')``; the API still reads and writes it as 64 lowercase hex digits.
* The three references (``report_id``, ``category``, ``stage``) are checked once per statement, not once per
  row: a statement trigger looks up the distinct keys of the rows an INSERT or UPDATE wrote (its transition
  table) and locks them FOR KEY SHARE, as a foreign key would. The other side is guarded too: deleting,
  renumbering or truncating a report or a code that items still use is refused. The errors are those of the
  foreign keys they replace (SQLSTATE 23503, the same constraint names).

As with the foreign keys, the checks see rows committed by others because PostgreSQL runs them under READ
COMMITTED (the app's level); the downgrade restores the foreign keys, which validate every existing row.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (column of usage_item, referenced table, its key, the foreign key's name): the names stay those of the
# foreign keys, so an error reads the same and the downgrade puts them back under the same names.
REFERENCES = (
    ('report_id', 'usage_report', 'id', 'fk_usage_item_report_id_usage_report'),
    ('category', 'category_code', 'code', 'fk_usage_item_category_category_code'),
    ('stage', 'stage_code', 'code', 'fk_usage_item_stage_stage_code'),
)

CHECK_REFERENCES = """
CREATE FUNCTION usage_item_check_references() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    reports integer[];
    categories text[];
    stages text[];
    missing text;
BEGIN
    -- The distinct keys, one column at a time: grouped by one column of a transition table (no statistics)
    -- PostgreSQL hashes; by three at once it expects many groups and sorts all the rows instead.
    SELECT array_agg(report_id) INTO reports FROM (SELECT report_id FROM written GROUP BY 1) k;
    IF reports IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT array_agg(category) INTO categories FROM (SELECT category FROM written GROUP BY 1) k;
    SELECT array_agg(stage) INTO stages FROM (SELECT stage FROM written GROUP BY 1) k;
    -- Locked as a foreign key locks what it points at: a concurrent DELETE waits for this transaction.
    PERFORM 1 FROM usage_report WHERE id = ANY (reports) FOR KEY SHARE;
    PERFORM 1 FROM category_code WHERE code = ANY (categories) FOR KEY SHARE;
    PERFORM 1 FROM stage_code WHERE code = ANY (stages) FOR KEY SHARE;
    SELECT min(key)::text INTO missing FROM unnest(reports) AS key
    WHERE NOT EXISTS (SELECT 1 FROM usage_report WHERE id = key);
    IF missing IS NOT NULL THEN
        PERFORM usage_item_reference_error('report_id', missing, 'usage_report', 'fk_usage_item_report_id_usage_report');
    END IF;
    SELECT min(key) INTO missing FROM unnest(categories) AS key
    WHERE NOT EXISTS (SELECT 1 FROM category_code WHERE code = key);
    IF missing IS NOT NULL THEN
        PERFORM usage_item_reference_error('category', missing, 'category_code', 'fk_usage_item_category_category_code');
    END IF;
    SELECT min(key) INTO missing FROM unnest(stages) AS key
    WHERE NOT EXISTS (SELECT 1 FROM stage_code WHERE code = key);
    IF missing IS NOT NULL THEN
        PERFORM usage_item_reference_error('stage', missing, 'stage_code', 'fk_usage_item_stage_stage_code');
    END IF;
    RETURN NULL;
END;
$$
"""

REFERENCE_ERROR = """
CREATE FUNCTION usage_item_reference_error(column_name text, key text, referenced text, constraint_name text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'insert or update on table "usage_item" violates foreign key constraint "%"', constraint_name
        USING ERRCODE = 'foreign_key_violation', CONSTRAINT = constraint_name, TABLE = 'usage_item',
              DETAIL = format('Key (%s)=(%s) is not present in table "%s".', column_name, key, referenced);
END;
$$
"""

# The referenced side: a report or a code that items use stays. TG_ARGV: the usage_item column, the key
# column of the referenced table, the constraint name. Rare (reports and codes are never deleted by the
# API), so a plain lookup: by the (report_id, id) index for reports, a scan for codes.
KEEP_REFERENCED = """
CREATE FUNCTION usage_item_keep_referenced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_key text := to_jsonb(OLD) ->> TG_ARGV[1];
    used boolean;
BEGIN
    IF TG_OP = 'UPDATE' AND (to_jsonb(NEW) ->> TG_ARGV[1]) IS NOT DISTINCT FROM old_key THEN
        RETURN NULL;
    END IF;
    IF TG_ARGV[0] = 'report_id' THEN
        used := EXISTS (SELECT 1 FROM usage_item WHERE report_id = old_key::integer);
    ELSE
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM usage_item WHERE %I = $1)', TG_ARGV[0]) INTO used USING old_key;
    END IF;
    IF used THEN
        RAISE EXCEPTION 'update or delete on table "%" violates foreign key constraint "%" on table "usage_item"',
                TG_TABLE_NAME, TG_ARGV[2]
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = TG_ARGV[2], TABLE = TG_TABLE_NAME,
                  DETAIL = format('Key (%s)=(%s) is still referenced from table "usage_item".', TG_ARGV[1], old_key);
    END IF;
    RETURN NULL;
END;
$$
"""

# TRUNCATE fires no row trigger. AFTER TRUNCATE runs once every table of the statement is emptied, so
# ``TRUNCATE usage_item, usage_report`` passes and ``TRUNCATE usage_report`` alone does not when items remain.
KEEP_REFERENCED_ON_TRUNCATE = """
CREATE FUNCTION usage_item_keep_referenced_on_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM usage_item) THEN
        RAISE EXCEPTION 'cannot truncate table "%": rows of "usage_item" refer to it', TG_TABLE_NAME
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = TG_ARGV[0], TABLE = TG_TABLE_NAME;
    END IF;
    RETURN NULL;
END;
$$
"""


def upgrade() -> None:
    op.drop_constraint(op.f('ck_usage_item_evidence_hex'), 'usage_item', type_='check')
    op.execute("ALTER TABLE usage_item ALTER COLUMN evidence_sha256 TYPE bytea USING decode(evidence_sha256, 'hex')")
    op.create_check_constraint(
        op.f('ck_usage_item_evidence_sha256_length'), 'usage_item', 'octet_length(evidence_sha256) = 32'
    )
    for column, _, _, name in REFERENCES:
        op.drop_constraint(op.f(name), 'usage_item', type_='foreignkey')
    op.execute(REFERENCE_ERROR)
    op.execute(CHECK_REFERENCES)
    # A trigger with transition tables serves one event, so one each for INSERT and UPDATE.
    for event in ('INSERT', 'UPDATE'):
        op.execute(
            f"CREATE TRIGGER usage_item_references_{event.lower()} AFTER {event} ON usage_item"
            " REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION usage_item_check_references()"
        )
    op.execute(KEEP_REFERENCED)
    op.execute(KEEP_REFERENCED_ON_TRUNCATE)
    for column, table, key, name in REFERENCES:
        op.execute(
            f"CREATE TRIGGER usage_item_keep_{table} AFTER DELETE OR UPDATE OF {key} ON {table}"
            f" FOR EACH ROW EXECUTE FUNCTION usage_item_keep_referenced('{column}', '{key}', '{name}')"
        )
        op.execute(
            f"CREATE TRIGGER usage_item_keep_{table}_on_truncate AFTER TRUNCATE ON {table}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION usage_item_keep_referenced_on_truncate('{name}')"
        )


def downgrade() -> None:
    for column, table, key, name in REFERENCES:
        op.execute(f"DROP TRIGGER usage_item_keep_{table}_on_truncate ON {table}")
        op.execute(f"DROP TRIGGER usage_item_keep_{table} ON {table}")
    op.execute("DROP FUNCTION usage_item_keep_referenced_on_truncate()")
    op.execute("DROP FUNCTION usage_item_keep_referenced()")
    for event in ('INSERT', 'UPDATE'):
        op.execute(f"DROP TRIGGER usage_item_references_{event.lower()} ON usage_item")
    op.execute("DROP FUNCTION usage_item_check_references()")
    op.execute("DROP FUNCTION usage_item_reference_error(text, text, text, text)")
    for column, table, key, name in REFERENCES:
        op.create_foreign_key(op.f(name), 'usage_item', table, [column], [key])
    op.drop_constraint(op.f('ck_usage_item_evidence_sha256_length'), 'usage_item', type_='check')
    op.execute("ALTER TABLE usage_item ALTER COLUMN evidence_sha256 TYPE varchar(64) USING encode(evidence_sha256, 'hex')")
    op.create_check_constraint(
        op.f('ck_usage_item_evidence_hex'), 'usage_item', "evidence_sha256 IS NULL OR evidence_sha256 ~ '^[0-9a-f]{64}$'"
    )
