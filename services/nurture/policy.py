"""The nurture policy: YAML at NURTURE_POLICY_FILE, validated and hot-reloaded.

Follow-up deadlines (SLA) per grade and team, warnings, protection, the no-deal clock, pool aging, nurture
tracks and re-engagement.

Deadlines counted in working time use the owner's calendar: the reps' working hours and holidays come from the
routing file (the router's `defaults` and `reps`), so a rep's hours are written once.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from shared.config.durations import parse_duration
from shared.config.yamlfile import ConfigError, Lines, WatchedFile, compose, digest, error_at, read_text, validate
from shared.runtime.logging import get_logger
from shared.worktime import WorkCalendar

_log = get_logger(__name__)

GRADES = ("A", "B", "C", "D")


def _duration(value: object) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=float(value))
    return parse_duration(str(value))


Duration = Annotated[timedelta, BeforeValidator(_duration)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Reminder(_Spec):
    before: Duration  # this long before the deadline
    to: Literal["owner", "manager"] = "owner"


class Sla(_Spec):
    deadline: Duration | None = None  # None: inherit
    working_time: bool | None = None
    warn: tuple[Reminder, ...] | None = None
    on_breach: Literal["reassign", "pool"] | None = None


class Protection(_Spec):
    extend_by: Duration = timedelta(days=3)  # each follow-up protects the lead this much longer
    max: Duration = timedelta(days=30)  # counted from the assignment


class PoolAging(_Spec):
    after: Duration = timedelta(days=14)
    track: str


class Step(_Spec):
    delay: Duration  # after enrolment (step 1) or after the previous step
    channel: Literal["email", "sms", "call", "wechat"]
    template: str = Field(min_length=1)


StopCondition = Literal["reply", "unsubscribe", "converted", "assigned"]


class Track(_Spec):
    steps: tuple[Step, ...] = Field(min_length=1)
    stop_on: tuple[StopCondition, ...] = ("reply", "unsubscribe", "converted", "assigned")
    grace: Duration = timedelta(days=7)  # after the last step, then archived without interest


DEFAULT_WEIGHTS: dict[str, float] = {
    "email_open": 1.0, "email_click": 3.0, "web_visit": 2.0, "form_submit": 10.0, "reply": 15.0, "merged": 12.0,
}  # fmt: skip


class Engagement(_Spec):
    weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_WEIGHTS))  # points per kind
    half_life: Duration = timedelta(days=7)
    threshold: float = Field(default=20, gt=0)
    cooldown: Duration = timedelta(days=1)  # a lead re-engages at most this often


class PolicySpec(_Spec):
    version: str = Field(min_length=1)
    routing_file: str | None = None  # where the reps' calendars are (relative to this file)
    sla: Sla
    grades: dict[str, Sla] = Field(default_factory=dict)
    teams: dict[str, dict[str, Sla]] = Field(default_factory=dict)  # team -> grade (or "default") -> overrides
    protection: Protection = Protection()
    no_deal: dict[str, Duration] = Field(default_factory=dict)  # grade or "default" -> no deal after this long
    pool_aging: PoolAging | None = None
    tracks: dict[str, Track] = Field(min_length=1)
    default_track: str | None = None  # for a deferral naming an unknown track
    engagement: Engagement = Engagement()

    @model_validator(mode="after")
    def _complete_default(self) -> PolicySpec:
        if self.sla.deadline is None:
            raise ValueError("sla.deadline is required (the default follow-up deadline)")
        return self


class SlaRule(BaseModel):
    """The follow-up deadline for one assignment, resolved: team over grade over default."""

    model_config = ConfigDict(frozen=True)
    deadline: timedelta
    working_time: bool
    warn: tuple[Reminder, ...]
    on_breach: Literal["reassign", "pool"]


class Policy:
    """The validated policy and the owner calendars it counts working time in."""

    def __init__(
        self, spec: PolicySpec, version: str, calendars: dict[str, WorkCalendar], default_calendar: WorkCalendar
    ) -> None:
        self.spec = spec
        self.version = version
        self.calendars = calendars
        self.default_calendar = default_calendar
        self.tracks = spec.tracks
        self.engagement = spec.engagement
        self.protection = spec.protection
        self.pool_aging = spec.pool_aging

    def sla(self, grade: str | None, team: str | None) -> SlaRule:
        layers = [self.spec.sla, self.spec.grades.get(grade or "", Sla())]
        team_spec = self.spec.teams.get(team or "", {})
        layers += [team_spec.get("default", Sla()), team_spec.get(grade or "", Sla())]
        deadline, working, breach = timedelta(days=1), True, "reassign"
        warn: tuple[Reminder, ...] = ()
        for layer in layers:
            deadline = layer.deadline if layer.deadline is not None else deadline
            working = layer.working_time if layer.working_time is not None else working
            warn = layer.warn if layer.warn is not None else warn
            breach = layer.on_breach or breach
        return SlaRule(deadline=deadline, working_time=working, warn=warn, on_breach=breach)

    def no_deal(self, grade: str | None) -> timedelta | None:
        return self.spec.no_deal.get(grade or "", self.spec.no_deal.get("default"))

    def calendar(self, rep_id: str | None) -> WorkCalendar:
        return self.calendars.get(rep_id or "", self.default_calendar)

    def track(self, name: str) -> tuple[str, Track] | None:
        if name in self.tracks:
            return name, self.tracks[name]
        if self.spec.default_track:
            return self.spec.default_track, self.tracks[self.spec.default_track]
        return None


def parse_policy(text: str, source: str = "<string>", base: Path | None = None) -> Policy:
    """Validate a policy file's text; ConfigError names `source`, the line and what is wrong."""
    raw, lines = compose(text, source)
    spec = validate(PolicySpec, raw, lines, source)
    problems = []
    for grade in [*spec.grades, *spec.no_deal]:
        if grade not in (*GRADES, "default"):
            loc = ("grades", grade) if grade in spec.grades else ("no_deal", grade)
            problems.append(error_at(lines, loc, source, f"{grade!r} is not a grade (A, B, C, D or default)"))
    if spec.pool_aging is not None and spec.pool_aging.track not in spec.tracks:
        problems.append(error_at(lines, ("pool_aging", "track"), source, f"no track {spec.pool_aging.track!r}"))
    if spec.default_track is not None and spec.default_track not in spec.tracks:
        problems.append(error_at(lines, ("default_track",), source, f"no track {spec.default_track!r}"))
    for name, track in spec.tracks.items():
        for index, step in enumerate(track.steps):
            if step.delay < timedelta(0):
                problems.append(error_at(lines, ("tracks", name, "steps", index, "delay"), source, "negative delay"))
    if problems:
        raise ConfigError("; ".join(str(p) for p in problems), problems[0].line)
    calendars, default = _calendars(spec, base, source, lines)
    return Policy(spec, f"{spec.version}+{digest(text)[:8]}", calendars, default)


def _calendars(
    spec: PolicySpec, base: Path | None, source: str, lines: Lines
) -> tuple[dict[str, WorkCalendar], WorkCalendar]:
    """The reps' calendars from the routing file (the router's defaults and reps), or round the clock."""
    if spec.routing_file is None:
        return {}, WorkCalendar.always()
    from services.router.rules import load_rule_set  # noqa: PLC0415 -- one reader of the routing file's format

    path = Path(spec.routing_file)
    if not path.is_absolute() and base is not None:
        path = base / path
    try:
        rules = load_rule_set(path)
    except ConfigError as exc:
        raise error_at(lines, ("routing_file",), source, f"the routing file cannot be used: {exc}") from None
    return {rep_id: rep.calendar for rep_id, rep in rules.reps.items()}, rules.defaults.calendar


def load_policy(path: Path) -> Policy:
    return parse_policy(read_text(path, "nurture policy"), str(path), path.parent)


class PolicyFile(WatchedFile[Policy]):
    """The policy on disk and in force; logs nurture_policy_reloaded / nurture_policy_rejected."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            path, lambda text, source: parse_policy(text, source, path.parent), "nurture_policy", what="nurture policy",
            log=_log,
        )  # fmt: skip
