"""router settings (env prefix ROUTER_)."""

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from shared.runtime.settings import REPO_ROOT, ServiceSettings


class RouterSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ROUTER_", extra="ignore")

    rules_file: Path = Field(
        default=REPO_ROOT / "deploy" / "config" / "routing.yaml",
        validation_alias=AliasChoices("ROUTER_RULES_FILE"),
        description="teams, reps and ordered rules (hot-reloaded; a bad file is refused, the running one stays)",
    )
    rules_check_s: float = Field(default=2.0, gt=0, description="how often the rules file is checked for changes")
    pool_claims_per_day: int = Field(default=20, ge=0, description="leads a rep may claim from the pool per day")
    pool_reclaim_cooldown_s: float = Field(
        default=12 * 3600, ge=0, description="a rep who released or lost a lead may not re-claim it for this long"
    )
    pool_claim_delay_s: float = Field(default=0, ge=0, description="a newly pooled lead is claimable after this")
    pool_list_limit: int = Field(default=1000, ge=1, le=100_000, description="most rows GET /v1/pool returns")
