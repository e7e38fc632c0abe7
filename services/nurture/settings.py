"""nurture settings (env prefix NURTURE_)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.runtime.settings import ServiceSettings


class NurtureSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NURTURE_", extra="ignore")

    follow_up_seconds: float = Field(default=24 * 3600, gt=0, description="time an owner has to follow up")
    timer_interval_s: float = Field(default=1.0, gt=0)
