"""ingest settings (env prefix INGEST_)."""

from pydantic_settings import SettingsConfigDict

from shared.runtime.settings import ServiceSettings


class IngestSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INGEST_", extra="ignore")
