"""Session-wide real infrastructure; each test gets its own database and (embedded) broker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import Pipeline
from tests.infra import fresh_database, kafka_broker, postgres_server


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with postgres_server(tmp_path_factory.mktemp("postgres")) as url:
        yield url


@pytest.fixture
def pg_url(pg_server: str) -> str:
    return fresh_database(pg_server)


@pytest.fixture
def kafka(tmp_path: Path) -> Iterator[str]:
    with kafka_broker(tmp_path / "kafka") as bootstrap:
        yield bootstrap


@pytest.fixture
def pipeline(kafka: str, pg_url: str, tmp_path: Path) -> Iterator[Pipeline]:
    logdir = tmp_path / "logs"
    logdir.mkdir()
    pipe = Pipeline(kafka, pg_url, logdir)
    yield pipe
    pipe.stop()
