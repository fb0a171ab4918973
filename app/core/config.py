"""One place for every setting; read from the environment (prefix ``HIBAH_``) and ``.env``."""

from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HIBAH_", env_file=".env", extra="ignore")

    # DATABASE_URL is the conventional name that docker, PaaS and CI set, so it is read unprefixed.
    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    data_dir: Path = Path(".hibah")
    db_pool_size: int = 10
    db_max_overflow: int = 10
    # Scaling past one machine (docs/scaling.md). Streaming replicas for reads, comma-separated, unprefixed like
    # DATABASE_URL; public and read-only GETs go to one of them (app/core/replicas.py).
    database_replica_url: str | None = Field(default=None, validation_alias="DATABASE_REPLICA_URL")
    replica_max_lag_s: float = Field(default=5.0, gt=0)
    """A replica whose replay is further behind the primary than this is skipped: its reads go to the primary."""
    replica_check_interval_s: float = Field(default=1.0, gt=0, le=60)
    """How often each worker measures every replica's state and lag, in the background (never per request)."""
    read_your_writes_s: float = Field(default=10.0, ge=0)
    """After a key writes, its reads go to the primary for this long (remembered per worker: best effort)."""
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

    # Compliance rules (Permendagri 54/2019 as amended by 41/2020); parameters, not code.
    tranche1_min_share: Decimal = Decimal("0.40")
    tranche1_working_days: int = 14
    lump_sum_working_days: int = 14
    tranche2_months_before_voting: int = 5
    report_months_after_winner: int = 3

    @property
    def cors_write_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_write_origins.split(",") if origin.strip()]


@lru_cache
def get_settings() -> Settings:
    return Settings()
