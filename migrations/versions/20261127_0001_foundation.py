"""Foundation: reference data, the published code lists, API keys, the audit log, idempotency.

Revision ID: 0001
Revises:
Create Date: 2026-11-27 20:24:15.367031
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The audit log is append-only for the application; a superuser can still tamper (and
# /audit/verify then names the first altered event), but no code path of ours can.
APPEND_ONLY_FUNCTION = """
CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_event is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$
"""
APPEND_ONLY_TRIGGER = """
CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()
"""

# Pilkada stages (tahapan, PKPU 2/2024) and the spending categories of grant usage reports.
# Frozen here rather than imported, so this revision builds the same schema forever.
STAGES = [
    ("perencanaan", "persiapan", "Perencanaan program dan anggaran", "Program and budget planning"),
    ("regulasi", "persiapan", "Penyusunan peraturan penyelenggaraan", "Drafting implementing regulations"),
    ("sosialisasi", "persiapan", "Sosialisasi, pendidikan pemilih dan partisipasi masyarakat", "Outreach, voter education and participation"),
    ("pembentukan_badan_adhoc", "persiapan", "Pembentukan badan ad hoc (PPK, PPS, KPPS; Panwascam, PKD, PTPS)", "Forming the ad hoc bodies"),
    ("pemantau", "persiapan", "Pendaftaran pemantau pemilihan", "Registering election observers"),
    ("data_pemilih", "persiapan", "Pemutakhiran dan penyusunan daftar pemilih", "Updating and compiling the voter list"),
    ("pencalonan", "penyelenggaraan", "Pendaftaran dan penetapan pasangan calon", "Nomination of candidate pairs"),
    ("kampanye", "penyelenggaraan", "Kampanye", "Campaign"),
    ("dana_kampanye", "penyelenggaraan", "Laporan dan audit dana kampanye", "Campaign finance reports and audit"),
    ("logistik", "penyelenggaraan", "Pengadaan dan pendistribusian perlengkapan pemilihan", "Procuring and distributing election materials"),
    ("pemungutan_suara", "penyelenggaraan", "Pemungutan dan penghitungan suara", "Voting and counting"),
    ("rekapitulasi", "penyelenggaraan", "Rekapitulasi hasil penghitungan suara", "Tabulating the results"),
    ("penetapan_calon_terpilih", "penyelenggaraan", "Penetapan pasangan calon terpilih", "Declaring the elected pair"),
    ("perselisihan_hasil", "penyelenggaraan", "Penanganan pelanggaran dan perselisihan hasil", "Violations and result disputes"),
    ("pengusulan_pengangkatan", "penyelenggaraan", "Pengusulan pengesahan pengangkatan calon terpilih", "Proposing the appointment of the elected pair"),
    ("pengamanan", "pendukung", "Pengamanan seluruh tahapan", "Security for every stage"),
    ("dukungan_operasional", "pendukung", "Dukungan operasional dan pertanggungjawaban", "Operational support and accountability"),
]
CATEGORIES = [
    ("honorarium_adhoc", "Honorarium badan ad hoc (PPK, PPS, KPPS, Pantarlih; Panwascam, PKD, PTPS)", "Honoraria of the ad hoc bodies"),
    ("honorarium_lainnya", "Honorarium tim, narasumber dan pelaksana", "Other honoraria (teams, speakers)"),
    ("logistik", "Pengadaan dan distribusi logistik pemilihan", "Election logistics"),
    ("percetakan", "Percetakan surat suara, formulir dan bahan", "Printing ballots, forms and materials"),
    ("sosialisasi", "Sosialisasi dan pendidikan pemilih", "Outreach and voter education"),
    ("bimtek", "Bimbingan teknis dan pelatihan", "Technical guidance and training"),
    ("rapat_konsumsi", "Rapat, konsumsi dan akomodasi", "Meetings, meals and lodging"),
    ("perjalanan_dinas", "Perjalanan dinas", "Official travel"),
    ("sewa", "Sewa gedung, kendaraan dan peralatan", "Rent of buildings, vehicles and equipment"),
    ("atk_operasional", "Alat tulis kantor dan operasional kantor", "Office supplies and operations"),
    ("teknologi_informasi", "Teknologi informasi dan aplikasi", "Information technology"),
    ("santunan_kesehatan", "Santunan dan layanan kesehatan badan ad hoc", "Insurance and health care of ad hoc staff"),
    ("operasi_pengamanan", "Operasi pengamanan (Polri/TNI)", "Security operations (police/military)"),
    ("lainnya", "Belanja lainnya", "Other spending"),
]


def seed_code_lists() -> None:
    stage_table = sa.table(
        "stage_code", sa.column("code"), sa.column("phase"), sa.column("label_id"), sa.column("label_en"), sa.column("position")
    )
    category_table = sa.table(
        "category_code", sa.column("code"), sa.column("label_id"), sa.column("label_en"), sa.column("position")
    )
    op.bulk_insert(
        stage_table,
        [
            {"code": code, "phase": phase, "label_id": label_id, "label_en": label_en, "position": position}
            for position, (code, phase, label_id, label_en) in enumerate(STAGES, start=1)
        ],
    )
    op.bulk_insert(
        category_table,
        [
            {"code": code, "label_id": label_id, "label_en": label_en, "position": position}
            for position, (code, label_id, label_en) in enumerate(CATEGORIES, start=1)
        ],
    )


def upgrade() -> None:
    op.create_table('audit_event',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_key_id', sa.BigInteger(), nullable=True),
    sa.Column('actor_role', sa.String(length=16), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('entity', sa.String(length=64), nullable=False),
    sa.Column('entity_id', sa.String(length=128), nullable=False),
    sa.Column('request_id', sa.String(length=128), nullable=True),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_event')),
    sa.UniqueConstraint('hash', name=op.f('uq_audit_event_hash'))
    )
    op.create_index(op.f('ix_audit_event_action'), 'audit_event', ['action'], unique=False)
    op.create_index(op.f('ix_audit_event_actor_key_id'), 'audit_event', ['actor_key_id'], unique=False)
    op.create_table('category_code',
    sa.Column('code', sa.String(length=48), nullable=False),
    sa.Column('label_id', sa.Text(), nullable=False),
    sa.Column('label_en', sa.Text(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_category_code'))
    )
    op.create_table('idempotency_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('response_body', sa.Text(), nullable=True),
    sa.Column('response_headers', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_record')),
    sa.UniqueConstraint('scope', 'key', name=op.f('uq_idempotency_record_scope_key'))
    )
    op.create_table('region',
    sa.Column('code', sa.String(length=5), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('level', sa.Enum('province', 'regency', 'city', name='region_level', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('parent_code', sa.String(length=5), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.CheckConstraint("(level = 'province') = (parent_code IS NULL)", name=op.f('ck_region_parent_by_level')),
    sa.CheckConstraint("code ~ '^[0-9]{2}$' OR code ~ '^[0-9]{2}\\.[0-9]{2}$'", name=op.f('ck_region_code_format')),
    sa.ForeignKeyConstraint(['parent_code'], ['region.code'], name=op.f('fk_region_parent_code_region')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_region'))
    )
    op.create_index(op.f('ix_region_parent_code'), 'region', ['parent_code'], unique=False)
    op.create_table('stage_code',
    sa.Column('code', sa.String(length=48), nullable=False),
    sa.Column('phase', sa.String(length=16), nullable=False),
    sa.Column('label_id', sa.Text(), nullable=False),
    sa.Column('label_en', sa.Text(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_stage_code'))
    )
    op.create_table('election',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('kind', sa.Enum('governor', 'regent', 'mayor', name='election_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('region_code', sa.String(length=5), nullable=False),
    sa.Column('voting_day', sa.Date(), nullable=False),
    sa.Column('winner_proposed_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.CheckConstraint('winner_proposed_on IS NULL OR winner_proposed_on >= voting_day', name=op.f('ck_election_winner_after_voting')),
    sa.ForeignKeyConstraint(['region_code'], ['region.code'], name=op.f('fk_election_region_code_region')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_election')),
    sa.UniqueConstraint('region_code', 'voting_day', name=op.f('uq_election_region_code_voting_day'))
    )
    op.create_index(op.f('ix_election_region_code'), 'election', ['region_code'], unique=False)
    op.create_table('recipient',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('kind', sa.Enum('kpu', 'bawaslu', 'polri', 'tni', name='recipient_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('region_code', sa.String(length=5), nullable=False),
    sa.Column('bank_name', sa.Text(), nullable=True),
    sa.Column('account_number', sa.String(length=34), nullable=True),
    sa.Column('account_holder', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.ForeignKeyConstraint(['region_code'], ['region.code'], name=op.f('fk_recipient_region_code_region')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recipient')),
    sa.UniqueConstraint('region_code', 'name', name=op.f('uq_recipient_region_code_name'))
    )
    op.create_index(op.f('ix_recipient_region_code'), 'recipient', ['region_code'], unique=False)
    op.create_table('api_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('role', sa.Enum('admin', 'finance', 'recipient', 'auditor', name='api_key_role', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=True),
    sa.Column('region_code', sa.String(length=5), nullable=True),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_by_key_id', sa.Integer(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("(role = 'recipient') = (recipient_id IS NOT NULL)", name=op.f('ck_api_key_recipient_scope')),
    sa.CheckConstraint("role = 'finance' OR region_code IS NULL", name=op.f('ck_api_key_region_scope')),
    sa.ForeignKeyConstraint(['created_by_key_id'], ['api_key.id'], name=op.f('fk_api_key_created_by_key_id_api_key')),
    sa.ForeignKeyConstraint(['recipient_id'], ['recipient.id'], name=op.f('fk_api_key_recipient_id_recipient')),
    sa.ForeignKeyConstraint(['region_code'], ['region.code'], name=op.f('fk_api_key_region_code_region')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_key')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_key_key_hash'))
    )
    op.create_index(op.f('ix_api_key_recipient_id'), 'api_key', ['recipient_id'], unique=False)
    op.execute(APPEND_ONLY_FUNCTION)
    op.execute(APPEND_ONLY_TRIGGER)
    seed_code_lists()


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event")
    op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
    op.drop_index(op.f('ix_api_key_recipient_id'), table_name='api_key')
    op.drop_table('api_key')
    op.drop_index(op.f('ix_recipient_region_code'), table_name='recipient')
    op.drop_table('recipient')
    op.drop_index(op.f('ix_election_region_code'), table_name='election')
    op.drop_table('election')
    op.drop_table('stage_code')
    op.drop_index(op.f('ix_region_parent_code'), table_name='region')
    op.drop_table('region')
    op.drop_table('idempotency_record')
    op.drop_table('category_code')
    op.drop_index(op.f('ix_audit_event_actor_key_id'), table_name='audit_event')
    op.drop_index(op.f('ix_audit_event_action'), table_name='audit_event')
    op.drop_table('audit_event')
