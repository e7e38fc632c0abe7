"""ingest settings (env prefix INGEST_)."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.runtime.settings import ServiceSettings


class IngestSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INGEST_", extra="ignore")

    default_country: str | None = Field(
        default="CN", description="phone region when neither the lead's country nor its channel names one"
    )
    regions_file: Path | None = Field(default=None, description="province/country → sales region table (YAML)")
    size_bands: list[tuple[int, str]] | None = Field(
        default=None,
        description='company size bands as JSON, lower bounds inclusive: [[1,"micro"],[10,"small"],…]',
    )
    http_max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024, description="larger requests get 413")
    http_max_batch: int = Field(default=1000, ge=1, le=10_000)
    rate_per_s: float = Field(default=2000.0, gt=0, description="leads per second per channel key (default)")
    rate_burst: float = Field(default=5000.0, gt=0, description="leads a key may send at once (default)")
    channel_refresh_s: float = Field(default=2.0, gt=0, description="a revoked key stops working within this")
    http_retry_budget_s: float = Field(default=5.0, gt=0, description="retrying the database before a 503")
