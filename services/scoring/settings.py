"""scoring settings (env prefix SCORING_)."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.runtime.settings import REPO_ROOT, ServiceSettings


class ScoringSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SCORING_", extra="ignore")

    rules_file: Path = Field(
        default=REPO_ROOT / "deploy" / "scoring" / "rules.yaml", description="the YAML points model (hot-reloaded)"
    )
    rules_check_s: float = Field(default=2.0, gt=0, description="how often the rules file is checked for changes")
    firmographics_csv: Path | None = Field(
        default=None,
        description="a reference CSV loaded into scoring.firmographics at start-up when that table is empty",
    )
    firmographics_refresh_s: float = Field(default=60.0, gt=0, description="how often the reference table is re-read")
    enrichment_timeout_s: float = Field(
        default=0.2, gt=0, description="a provider slower than this is skipped, flagged"
    )
    learn_interval_s: float = Field(default=1.0, gt=0, description="how often new outcomes are learned from")
    min_outcomes: int = Field(default=200, ge=1, description="outcomes before the model has a say (cold start)")
    max_model_weight: float = Field(default=0.8, ge=0, le=1, description="the model's share of the blend, warmed up")
    retrain_every: int = Field(default=1000, ge=1, description="outcomes between background retrains")
    shadow_min_outcomes: int = Field(default=200, ge=1, description="outcomes a shadow model is measured on first")
    recent_window: int = Field(default=2000, ge=10, description="recent outcomes champion and shadow are compared on")
    retrain_max_examples: int = Field(default=200_000, ge=100, description="most recent outcomes a retrain reads")
