"""The background loop that learns from outcomes without holding up the stream.

One scoring instance at a time is the trainer (a Postgres advisory lock decides which): it feeds
new outcomes to the learner (incremental learning, shadow measurement), retrains in a separate
process when enough outcomes arrived, stores every model version, and promotes a shadow model
only when it beats the champion on the same recent outcomes. Every other instance follows: it
loads the champion from the database whenever the trainer saved a newer state.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.scoring import store
from services.scoring.learning import Learner, LearningSettings
from services.scoring.model import OutcomeModel
from shared.runtime.clock import Clock
from shared.runtime.db import fetch_binary
from shared.runtime.logging import get_logger
from shared.runtime.settings import libpq_url

log = get_logger(__name__)

TRAINER_LOCK = 0x5C0_41E  # pg_advisory_lock key: the one instance that trains
FETCH = 5000  # outcomes read per step
CHUNK = 250  # outcomes learned between two yields to the event loop
NEVER = datetime.min.replace(tzinfo=UTC)
SAVE_EVERY_S = 10.0  # the champion's incremental state is stored at most this often (and on every new version)


def retrain_in_process(settings: LearningSettings, database_url: str, limit: int, version: str) -> tuple[bytes, int]:
    """A retrain in a worker process: it reads the most recent outcomes itself and returns the new model's bytes.

    Reading, decoding and training all happen here, with no interpreter lock shared with the consumer;
    only the model travels back. Returns (model bytes, examples read).
    """
    with psycopg.connect(libpq_url(database_url)) as conn:
        rows = conn.execute(
            "SELECT features, label FROM (SELECT id, features, label FROM scoring.outcomes ORDER BY id DESC LIMIT %s) r"
            " ORDER BY id",
            [limit],
        ).fetchall()
    examples = [(features, bool(label)) for features, label in rows]
    return Learner(settings).retrain(examples, version).to_bytes(), len(examples)


@dataclass
class Trainer:
    learner: Learner
    settings: LearningSettings
    clock: Clock
    max_examples: int
    is_trainer: bool = False
    cursor: int = 0
    loaded: dict[str, datetime] = field(default_factory=dict)  # version -> updated_at, as loaded
    decisions: dict[str, dict[str, Any]] = field(default_factory=dict)  # version -> its shadow comparison
    retrains: int = 0
    unsaved: int = 0  # outcomes learned since the last save
    saved_at: datetime = NEVER
    _lock_conn: AsyncConnection | None = None
    _pool: ProcessPoolExecutor | None = None
    _retraining: asyncio.Task[None] | None = None

    async def step(self, engine: AsyncEngine) -> None:
        """One round: become (or stay) the trainer, then learn; or follow the trainer's champion."""
        if not self.is_trainer:
            await self._try_lead(engine)
        if self.is_trainer:
            await self._learn(engine)
        else:
            await self._follow(engine)

    async def close(self) -> None:
        if self._retraining is not None:
            self._retraining.cancel()
        if self._lock_conn is not None:
            await self._lock_conn.close()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    async def _try_lead(self, engine: AsyncEngine) -> None:
        if self._lock_conn is None:
            self._lock_conn = await engine.connect()
        [row] = await fetch_binary(self._lock_conn, "SELECT pg_try_advisory_lock(%b) AS got", [TRAINER_LOCK])
        await self._lock_conn.commit()
        if row.got:
            self.is_trainer = True
            await self._load(engine, follow=False)
            log.info("scoring_trainer_started", cursor=self.cursor)

    async def _load(self, engine: AsyncEngine, *, follow: bool) -> None:
        """Install the stored champion (and shadow) models; the trainer resumes from the champion's cursor."""
        async with engine.connect() as conn:
            rows = await store.current_models(conn)
        for row in rows:
            if self.loaded.get(row.version) == row.updated_at:
                continue
            model = OutcomeModel.from_bytes(row.model)
            if row.status == "champion":
                self.learner.champion = model
                if not follow:
                    self.cursor = max(self.cursor, row.cursor)
            elif not follow:
                self.learner.install_challenger(model)
            self.loaded[row.version] = row.updated_at
            log.info("scoring_model_loaded", version=row.version, status=row.status, trained_on=row.trained_on)

    async def _follow(self, engine: AsyncEngine) -> None:
        await self._load(engine, follow=True)

    async def _learn(self, engine: AsyncEngine) -> None:
        async with engine.connect() as conn:
            rows = await store.outcomes_after(conn, self.cursor, FETCH)
        before = (self.learner.champion, self.learner.challenger)
        for start in range(0, len(rows), CHUNK):
            for row in rows[start : start + CHUNK]:
                self.learner.record_outcome(row.features, bool(row.label))
                self.cursor = row.id
            await asyncio.sleep(0)  # let the consumer in between chunks: learning never holds the stream
        self.unsaved += len(rows)
        challenger, report = self.learner.challenger, self.learner.shadow_report()
        promoted = self.learner.maybe_promote()
        decided = challenger is not None and self.learner.challenger is None
        if decided and challenger is not None and report is not None:
            # the comparison that decided, kept with the version: measured on the same outcomes, before learning each
            self.decisions[challenger.version] = {
                "shadow_outcomes": report.measured,
                "champion_auc": round(report.champion_auc, 4),
                "shadow_auc": round(report.challenger_auc, 4),
                "promoted": promoted,
            }
            if not promoted:
                await self._save_retired(engine, challenger)
        changed = promoted or (self.learner.champion, self.learner.challenger) != before
        due = self.unsaved and (self.clock.now() - self.saved_at).total_seconds() >= SAVE_EVERY_S
        if changed or due:
            await self._save(engine, promoted=promoted)
        if self.learner.needs_retrain() and self._retraining is None:
            self._retraining = asyncio.create_task(self._retrain(engine))

    async def _retrain(self, engine: AsyncEngine) -> None:
        """Train in a worker process on the recent outcomes; install the result as the shadow model."""
        try:
            version = f"m{self.clock.now():%Y%m%dT%H%M%S}-{self.retrains + 1}"
            if self._pool is None:
                self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
            started = self.clock.now()
            url = engine.url.render_as_string(hide_password=False)
            data, examples = await asyncio.get_running_loop().run_in_executor(
                self._pool, retrain_in_process, self.settings, url, self.max_examples, version
            )
            self.learner.install_challenger(OutcomeModel.from_bytes(data))
            self.retrains += 1
            log.info(
                "scoring_model_retrained",
                version=version,
                examples=examples,
                seconds=round((self.clock.now() - started).total_seconds(), 2),
            )
            await self._save(engine, promoted=False)
        except Exception:
            log.exception("scoring_retrain_failed")
        finally:
            self._retraining = None

    def _row(self, model: OutcomeModel, status: str, now: datetime) -> dict[str, Any]:
        """A model version as stored: its state, status, the shadow comparison that decided it."""
        return {
            "version": model.version,
            "status": status,
            "model": model.to_bytes(),
            "trained_on": model.trained_on,
            "cursor": self.cursor,
            "metrics": self.decisions.get(model.version, {}),
            "created_at": now,
            "updated_at": now,
            "promoted_at": now if status == "champion" else None,
        }

    async def _save_retired(self, engine: AsyncEngine, model: OutcomeModel) -> None:
        async with engine.begin() as conn:
            await store.save_model(conn, self._row(model, "retired", self.clock.now()))
        log.info("scoring_model_retired", version=model.version, **self.decisions.get(model.version, {}))

    async def _save(self, engine: AsyncEngine, *, promoted: bool) -> None:
        now = self.clock.now()
        keep = []
        async with engine.begin() as conn:
            for model, status in ((self.learner.champion, "champion"), (self.learner.challenger, "shadow")):
                if model is None:
                    continue
                keep.append(model.version)
                await store.save_model(conn, self._row(model, status, now))
                self.loaded[model.version] = now
            await store.retire_others(conn, keep, now)
        self.unsaved, self.saved_at = 0, now
        if promoted and self.learner.champion is not None:
            version = self.learner.champion.version
            log.info("scoring_model_promoted", version=version, **self.decisions.get(version, {}))
