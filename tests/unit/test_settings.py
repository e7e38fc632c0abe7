"""Settings: DSN normalisation, per-service env prefixes over shared LEADFLOW_ ones, shared broker address."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest
from pydantic import ValidationError

from services.dedup.settings import DedupSettings
from services.ingest.settings import IngestSettings
from services.nurture.settings import NurtureSettings
from services.router.settings import RouterSettings
from services.scoring.settings import ScoringSettings
from shared.runtime.settings import ServiceSettings, normalise_database_url

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.unit

ALL_SETTINGS: tuple[type[ServiceSettings], ...] = (
    IngestSettings,
    DedupSettings,
    ScoringSettings,
    RouterSettings,
    NurtureSettings,
)
PREFIXES = ("LEADFLOW_", "INGEST_", "DEDUP_", "SCORING_", "ROUTER_", "NURTURE_")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what a test sets: the developer's or CI's own variables must not decide the outcome."""
    for name in list(os.environ):
        if name.startswith(PREFIXES) or name in {"DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS"}:
            monkeypatch.delenv(name)


# --- database url ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given",
    [
        "postgres://lead:pw@db:5432/leadflow",
        "postgresql://lead:pw@db:5432/leadflow",
        "postgresql+psycopg2://lead:pw@db:5432/leadflow",
        "postgresql+asyncpg://lead:pw@db:5432/leadflow",
        "postgresql+psycopg://lead:pw@db:5432/leadflow",
    ],
)
def test_database_url_from_env_is_normalised_to_psycopg(monkeypatch: pytest.MonkeyPatch, given: str) -> None:
    monkeypatch.setenv("DATABASE_URL", given)
    for settings_cls in ALL_SETTINGS:
        assert settings_cls().database_url == "postgresql+psycopg://lead:pw@db:5432/leadflow"


def test_non_postgres_url_is_left_alone() -> None:
    assert normalise_database_url("sqlite+aiosqlite:///x.db") == "sqlite+aiosqlite:///x.db"


def test_default_database_url_is_psycopg() -> None:
    assert IngestSettings().database_url.startswith("postgresql+psycopg://")


def test_database_url_given_by_field_name_is_used() -> None:
    assert (
        IngestSettings(database_url="postgresql://lead@db/leadflow").database_url
        == "postgresql+psycopg://lead@db/leadflow"
    )


# --- prefixes --------------------------------------------------------------------------------------


def test_batch_size_defaults_to_500_and_200_for_dedup() -> None:
    assert {cls.__name__: cls().batch_max_records for cls in ALL_SETTINGS if cls is not DedupSettings} == {
        cls.__name__: 500 for cls in ALL_SETTINGS if cls is not DedupSettings
    }
    assert DedupSettings().batch_max_records == 200


def test_leadflow_prefix_sets_a_knob_for_every_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADFLOW_BATCH_MAX_RECORDS", "50")
    assert {cls().batch_max_records for cls in ALL_SETTINGS} == {50}


def test_service_prefix_beats_leadflow_prefix_for_that_service_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADFLOW_BATCH_MAX_RECORDS", "50")
    monkeypatch.setenv("ROUTER_BATCH_MAX_RECORDS", "7")
    assert RouterSettings().batch_max_records == 7
    assert IngestSettings().batch_max_records == 50
    assert NurtureSettings().batch_max_records == 50


def test_service_prefix_beats_the_default_without_a_shared_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCORING_RELAY_GRACE_S", "0.5")
    assert ScoringSettings().relay_grace_s == 0.5
    assert DedupSettings().relay_grace_s == 5.0


def test_constructor_argument_beats_the_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTER_BATCH_MAX_RECORDS", "7")
    assert RouterSettings(batch_max_records=3).batch_max_records == 3


def test_out_of_range_value_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INGEST_BATCH_MAX_RECORDS", "0")
    with pytest.raises(ValidationError, match="batch_max_records"):
        IngestSettings()


def test_service_specific_settings_read_their_own_prefix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ROUTER_RULES_FILE", str(tmp_path / "rules.yaml"))
    monkeypatch.setenv("NURTURE_POLICY_FILE", str(tmp_path / "nurture.yaml"))
    assert RouterSettings().rules_file == tmp_path / "rules.yaml"
    assert NurtureSettings().policy_file == tmp_path / "nurture.yaml"


# --- shared names ----------------------------------------------------------------------------------


def test_kafka_bootstrap_servers_is_shared_by_every_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka-0:9092,kafka-1:9092")
    assert {cls().kafka_bootstrap_servers for cls in ALL_SETTINGS} == {"kafka-0:9092,kafka-1:9092"}


def test_kafka_bootstrap_servers_default() -> None:
    assert RouterSettings().kafka_bootstrap_servers == "127.0.0.1:9092"


def test_dedup_thresholds_and_window_come_from_the_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEDUP_MERGE_THRESHOLD", "9.5")
    monkeypatch.setenv("DEDUP_REVIEW_THRESHOLD", "6")
    monkeypatch.setenv("DEDUP_WINDOW_DAYS", "90")
    thresholds = DedupSettings().thresholds()
    assert (thresholds.merge, thresholds.review, thresholds.window.days) == (9.5, 6.0, 90)


def test_a_review_threshold_above_the_merge_threshold_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEDUP_MERGE_THRESHOLD", "5")
    monkeypatch.setenv("DEDUP_REVIEW_THRESHOLD", "8")
    with pytest.raises(ValidationError, match="REVIEW_THRESHOLD"):
        DedupSettings()


def test_dedup_batch_size_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEDUP_BATCH_MAX_RECORDS", "150")
    assert DedupSettings().batch_max_records == 150
