"""nurture settings (env prefix NURTURE_)."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.runtime.settings import REPO_ROOT, ServiceSettings


class NurtureSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NURTURE_", extra="ignore")

    policy_file: Path = Field(
        default=REPO_ROOT / "deploy" / "config" / "nurture.yaml",
        description="SLA deadlines, warnings, protection, pool aging, tracks, re-engagement (hot-reloaded)",
    )
    policy_check_s: float = Field(default=2.0, gt=0, description="how often the policy file is checked for changes")
    timer_interval_s: float = Field(
        default=0.25,
        gt=0,
        description="how often due timers are looked for when none were due (a timer fires this"
        " long after its due time at most, plus the firing itself)",
    )
    timer_batch: int = Field(default=1000, ge=1, description="due timers fired per transaction")
