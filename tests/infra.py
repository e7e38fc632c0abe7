"""Real infrastructure for integration, e2e and fault tests: given by env, testcontainers, or embedded."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cli.embedded import EmbeddedBroker, EmbeddedPostgres
from shared.runtime.kafka_admin import all_topic_names, ensure_topics


def docker_answers() -> bool:
    """True when a Docker engine answers (then testcontainers is used)."""
    try:
        import docker  # noqa: PLC0415 -- optional: only needed when an engine exists

        docker.from_env(timeout=2).ping()
    except Exception:  # noqa: BLE001 -- any failure means: no engine here
        return False
    return True


@contextmanager
def postgres_server(workdir: Path) -> Iterator[str]:
    """A Postgres server URL: DATABASE_URL, a testcontainers container, or embedded pgserver."""
    if url := os.environ.get("DATABASE_URL"):
        yield url
    elif docker_answers():
        from testcontainers.postgres import PostgresContainer  # noqa: PLC0415

        with PostgresContainer("postgres:16", driver="psycopg") as container:
            yield container.get_connection_url()
    else:
        # pgserver runs postgres as its own OS user: the data dir must be reachable by it, and
        # pytest's tmp dirs are private (0700), so use a world-traversable one of our own.
        datadir = Path(tempfile.mkdtemp(prefix="leadflow-pg-"))
        datadir.chmod(0o755)
        server = EmbeddedPostgres(datadir / "pg")
        try:
            yield server.start()
        finally:
            server.stop()
            shutil.rmtree(datadir, ignore_errors=True)


def fresh_database(server_url: str) -> str:
    """A new, empty database on the server, so each test owns its schemas."""
    import sqlalchemy as sa  # noqa: PLC0415

    name = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(
        server_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    base, _, query = engine.url.render_as_string(hide_password=False).partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


@contextmanager
def kafka_broker(workdir: Path) -> Iterator[str]:
    """A broker with every topic freshly created: KAFKA_BOOTSTRAP_SERVERS (topics recreated), a container, or Tansu."""
    if given := os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        asyncio.run(_recreate_topics(given))
        yield given
    elif docker_answers():
        from testcontainers.kafka import KafkaContainer  # noqa: PLC0415

        with KafkaContainer() as container:
            bootstrap = container.get_bootstrap_server()
            asyncio.run(ensure_topics(bootstrap))
            yield bootstrap
    else:
        workdir.mkdir(parents=True, exist_ok=True)
        broker = EmbeddedBroker(log_path=workdir / "tansu.log")
        try:
            bootstrap = broker.start()
            asyncio.run(ensure_topics(bootstrap))
            yield bootstrap
        finally:
            broker.stop()
            shutil.rmtree(workdir, ignore_errors=True)


async def _recreate_topics(bootstrap: str) -> None:
    """On a shared broker each test starts from empty topics (and so from no committed offsets)."""
    from aiokafka.admin import AIOKafkaAdminClient  # noqa: PLC0415

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics()) & set(all_topic_names())
        if existing:
            await admin.delete_topics(sorted(existing))
            await asyncio.sleep(2)
    finally:
        await admin.close()
    await ensure_topics(bootstrap)
