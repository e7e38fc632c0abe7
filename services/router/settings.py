"""router settings (env prefix ROUTER_)."""

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from shared.runtime.settings import REPO_ROOT, ServiceSettings


class RouterSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ROUTER_", extra="ignore")

    rules_file: Path = Field(
        default=REPO_ROOT / "deploy" / "config" / "routing.yaml", validation_alias=AliasChoices("ROUTER_RULES_FILE")
    )
