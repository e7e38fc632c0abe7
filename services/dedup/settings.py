"""dedup settings (env prefix DEDUP_)."""

from datetime import timedelta

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from services.dedup.engine import DEFAULT_MERGE, DEFAULT_REVIEW, Thresholds
from shared.runtime.settings import ServiceSettings


class DedupSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEDUP_", extra="ignore")

    merge_threshold: float = Field(default=DEFAULT_MERGE, description="match score at or above which leads merge")
    review_threshold: float = Field(
        default=DEFAULT_REVIEW, description="match score at or above which a lead is a possible duplicate"
    )
    # Smaller batches than the shared default (500): a batch holds its blocking keys' locks until it
    # commits, so two instances wait on each other less (bench.dedup: 200 beat 50, 100, 500 and 1,000).
    batch_max_records: int = Field(default=200, ge=1)
    window_days: float = Field(default=180, gt=0, description="a repeat older than this starts a new, linked lead")

    @model_validator(mode="after")
    def _ordered(self) -> "DedupSettings":
        if self.review_threshold > self.merge_threshold:
            raise ValueError("DEDUP_REVIEW_THRESHOLD must not exceed DEDUP_MERGE_THRESHOLD")
        return self

    def thresholds(self) -> Thresholds:
        return Thresholds(self.merge_threshold, self.review_threshold, timedelta(days=self.window_days))
