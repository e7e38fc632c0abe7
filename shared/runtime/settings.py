"""Settings every service shares; each service subclasses with its own env prefix (e.g. ROUTER_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]


def normalise_database_url(url: str) -> str:
    """Any postgres DSN → the SQLAlchemy psycopg 3 form."""
    for prefix in ("postgresql+psycopg2://", "postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def libpq_url(url: str) -> str:
    """Any postgres DSN → the form psycopg (libpq) connects with directly."""
    return "postgresql://" + normalise_database_url(url).split("://", 1)[1]


class ServiceSettings(BaseSettings):
    """Shared knobs; names without the service prefix are shared by all services."""

    model_config = SettingsConfigDict(env_prefix="LEADFLOW_", extra="ignore", populate_by_name=True)

    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092", validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS")
    )
    database_url: str = Field(
        default="postgresql+psycopg://postgres@localhost/postgres", validation_alias=AliasChoices("DATABASE_URL")
    )
    home: Path = Field(default=REPO_ROOT / ".leadflow", validation_alias=AliasChoices("LEADFLOW_HOME"))
    log_json: bool | None = Field(default=None, validation_alias=AliasChoices("LEADFLOW_LOG_JSON"))
    log_level: str = Field(default="INFO", validation_alias=AliasChoices("LEADFLOW_LOG_LEVEL"))

    topic_partitions: int = Field(default=8, ge=1)
    batch_max_records: int = Field(default=500, ge=1)
    batch_timeout_ms: int = Field(default=100, ge=1)
    session_timeout_ms: int = Field(default=10_000, ge=1000)
    heartbeat_interval_ms: int = Field(default=3_000, ge=100)
    max_poll_interval_ms: int = Field(default=300_000, ge=1000)
    relay_interval_s: float = Field(default=1.0, gt=0)
    gauges_interval_s: float = Field(default=15.0, gt=0, description="how often gauges read from tables refresh")
    lag_interval_s: float = Field(default=5.0, gt=0, description="how often consumer lag is exported")
    relay_grace_s: float = Field(default=5.0, ge=0, description="outbox rows younger than this belong to the live path")
    retry_initial_s: float = Field(default=0.2, gt=0)
    retry_max_s: float = Field(default=10.0, gt=0)
    retry_budget_s: float = Field(default=60.0, gt=0, description="in-handler retries before the batch is rewound")
    gc_threshold: int = Field(default=50_000, ge=0, description="gen-0 GC threshold; 0 keeps Python's default")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """`ROUTER_BATCH_MAX_RECORDS` wins over `LEADFLOW_BATCH_MAX_RECORDS`, which sets it for every service."""
        shared = EnvSettingsSource(settings_cls, env_prefix="LEADFLOW_")
        return init_settings, env_settings, shared, dotenv_settings, file_secret_settings

    @field_validator("database_url")
    @classmethod
    def _psycopg_dsn(cls, value: str) -> str:
        return normalise_database_url(value)
