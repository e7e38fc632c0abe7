"""scoring settings (env prefix SCORING_)."""

from pydantic_settings import SettingsConfigDict

from shared.runtime.settings import ServiceSettings


class ScoringSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SCORING_", extra="ignore")
