"""dedup settings (env prefix DEDUP_)."""

from pydantic_settings import SettingsConfigDict

from shared.runtime.settings import ServiceSettings


class DedupSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEDUP_", extra="ignore")
