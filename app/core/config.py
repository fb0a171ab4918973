"""One place for every setting; read from the environment (prefix ``HIBAH_``) and ``.env``."""

from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.core.seal import parse_private_key


class Settings(BaseSettings):
    # hide_input_in_errors: a bad setting is reported without its value (the signing key is a secret).
    model_config = SettingsConfigDict(env_prefix="HIBAH_", env_file=".env", extra="ignore", hide_input_in_errors=True)

    # DATABASE_URL is the conventional name that docker, PaaS and CI set, so it is read unprefixed.
    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    data_dir: Path = Path(".hibah")
    db_pool_size: int = 10
    """Connections per worker of each pool: the engine's (plus overflow), the read pool's and the ledger pool's."""
    db_max_overflow: int = 10
    db_connect_timeout_s: float = Field(default=5.0, gt=0)
    """How long opening a database connection may take before the request is answered 503."""
    db_pool_timeout_s: float = Field(default=10.0, gt=0)
    """How long a request waits for a free pooled connection before it is answered 503."""
    retry_after_s: int = Field(default=2, ge=1)
    """The ``Retry-After`` of a 503 (database unavailable, exports busy)."""
    export_slots: int = Field(default=4, ge=1)
    """Streamed exports at once per worker, each on a connection of the exports' own pool; one more is a 503."""
    embedded_watch_s: float = Field(default=1.0, gt=0)
    """How often ``serve`` checks that its embedded PostgreSQL is alive (restarting it if not)."""
    timeout_keep_alive_s: float = Field(default=5.0, gt=0)
    """An idle keep-alive connection is closed after this long (uvicorn's ``timeout_keep_alive``)."""
    header_timeout_s: float = Field(default=10.0, gt=0)
    """A client has this long from connecting (or from the start of its next request) to finish sending the
    request line and headers; then the connection is closed (app/serving.py)."""
    body_timeout_s: float = Field(default=10.0, gt=0)
    """The longest the server waits for the next part of a request's body (the first part from the end of the
    headers); then 408 ``request_timeout`` and the connection closed, nothing written (app/core/middleware.py)."""
    body_min_bytes_per_s: int = Field(default=1024, ge=0)
    """A body must also average this many bytes a second over the time spent waiting for it, beyond a first
    ``body_timeout_s`` of grace (0: no minimum); slower is the same 408."""
    # Scaling past one machine (docs/scaling.md). Streaming replicas for reads, comma-separated, unprefixed like
    # DATABASE_URL; public and read-only GETs go to one of them (app/core/replicas.py).
    database_replica_url: str | None = Field(default=None, validation_alias="DATABASE_REPLICA_URL")
    replica_max_lag_s: float = Field(default=5.0, gt=0)
    """A replica whose replay is further behind the primary than this is skipped: its reads go to the primary."""
    replica_check_interval_s: float = Field(default=1.0, gt=0, le=60)
    """How often each worker measures every replica's state and lag, in the background (never per request)."""
    read_your_writes_s: float = Field(default=10.0, ge=0)
    """After a key writes, its reads go to the primary for this long (remembered per worker: best effort)."""
    listen_url: str | None = None
    """Where the change feed's LISTEN connection goes (``HIBAH_LISTEN_URL``; unset: ``DATABASE_URL``). Behind
    PgBouncer in transaction mode point it at the primary PostgreSQL itself: a pooler cannot carry LISTEN."""
    db_statement_cache: bool = True
    """False behind PgBouncer in transaction pooling mode: no prepared statement outlives its transaction."""
    log_level: str = "info"
    log_format: str = Field(default="json", pattern="^(json|text)$")
    portal_cache_pages: int = Field(default=512, ge=0)
    """Rendered portal pages kept per worker process (app/portal/cache.py); 0 renders every request."""
    portal_head_ttl_s: float = Field(default=1.0, ge=0, le=60)
    """How long a worker trusts the audit chain's head it last read before reading it again (0: every request)."""

    # Browsers: every origin may read; only these (comma-separated, e.g. "https://portal.example.go.id")
    # may write. Public answers may be kept this many seconds by browsers and shared caches.
    cors_write_origins: str = ""
    cache_max_age: int = Field(default=10, ge=0)

    # Who answers for this instance, in the OpenAPI document's info.contact; and the code's licence.
    contact_name: str = "Hibah operators"
    contact_email: str = ""
    contact_url: str = ""
    license_name: str = "MIT License"
    license_id: str = "MIT"

    # The open data (GET /exports/datapackage.json): the data's licence and who publishes it.
    data_license_name: str = "CC-BY-4.0"
    data_license_title: str = "Creative Commons Attribution 4.0"
    data_license_url: str = "https://creativecommons.org/licenses/by/4.0/"
    publisher_name: str = "Hibah operators"
    publisher_url: str = ""
    publisher_email: str = ""

    # Sealed checkpoints: the Ed25519 key (PEM, or the base64 of its 32-byte seed). Unset, a key is made once
    # and kept in the database (table audit_signing_key); set it to keep the key out of the database, so that
    # whoever can rewrite the database cannot also re-seal it.
    audit_signing_key: SecretStr | None = None

    # Compliance rules (Permendagri 54/2019 as amended by 41/2020); parameters, not code.
    tranche1_min_share: Decimal = Decimal("0.40")
    tranche1_working_days: int = 14
    lump_sum_working_days: int = 14
    tranche2_months_before_voting: int = 5
    report_months_after_winner: int = 3

    @field_validator("audit_signing_key")
    @classmethod
    def _readable_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_private_key(value.get_secret_value())  # ValueError names the shape, never the secret
        return value

    @property
    def cors_write_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_write_origins.split(",") if origin.strip()]


@lru_cache
def get_settings() -> Settings:
    return Settings()
