"""One place for every setting; read from the environment (prefix ``HIBAH_``) and ``.env``."""

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
    log_level: str = "info"
    page_limit_default: int = 50
    page_limit_max: int = 500
    idempotency_ttl_hours: int = 24


@lru_cache
def get_settings() -> Settings:
    return Settings()
