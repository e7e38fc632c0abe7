"""The routing file's schema as written: defaults, reps (overriding defaults), teams and rules with one target each."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from services.router.rule_model import Target
from shared.config.durations import parse_duration
from shared.worktime import check_country, parse_hours, parse_timezone

TARGETS: tuple[Target, ...] = ("team", "rep", "pool", "nurture", "qualify")
STAGES = ("intake", "qualified")


def _hours(value: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
    parse_hours(value)
    return value


def _timezone(value: str) -> str:
    parse_timezone(value)
    return value


def _country(value: str) -> str:
    check_country(value)
    return value


def _duration(value: Any) -> Any:
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, timedelta):
        return value
    raise ValueError(f"{value!r} is not a duration: write e.g. 30s, 15m, 2h, 7d or 1d12h")


Id = Annotated[str, Field(pattern=r"^\S+$")]  # no blanks: ids are written into events and logs
Hours = Annotated[dict[str, str | list[str]], AfterValidator(_hours)]
Timezone = Annotated[str, AfterValidator(_timezone)]
Country = Annotated[str, AfterValidator(_country)]
Dates = list[Annotated[date, Field(strict=False)]]  # `2026-09-27` reads as a date, "2026-09-27" as text: both do
Duration = Annotated[timedelta, BeforeValidator(_duration), Field(ge=timedelta(0))]
Count = Annotated[int, Field(ge=0)]
Scalar = str | int | float | bool


_ROUND_THE_CLOCK: dict[str, str | list[str]] = {"mon-sun": "24h"}


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class CapsSpec(_Spec):
    day: Count | None = None
    week: Count | None = None
    open: Count | None = None


class DefaultsSpec(_Spec):
    timezone: Timezone = "UTC"
    hours: Hours = Field(default_factory=lambda: dict(_ROUND_THE_CLOCK))  # no hours given: no working-time limit
    holidays: Country | None = None
    workdays: Dates = Field(default_factory=list)
    days_off: Dates = Field(default_factory=list)
    caps: CapsSpec = CapsSpec()
    max_rejections: int = Field(default=3, ge=1)
    recycle_cooldown: Duration = timedelta(days=7)


class RepSpec(_Spec):
    """A rep; calendar fields and caps left out are the defaults' (`holidays: null` means none)."""

    id: Id
    name: str | None = None
    active: bool = True
    manager: bool = False
    languages: list[str] = Field(default_factory=list)
    skills: list[str] = Field(default_factory=list)
    caps: CapsSpec | None = None
    timezone: Timezone | None = None
    hours: Hours | None = None
    holidays: Country | None = None
    workdays: Dates | None = None
    days_off: Dates | None = None


class MemberSpec(_Spec):
    rep: Id
    weight: float = Field(default=1.0, gt=0)


class TeamSpec(_Spec):
    id: Id
    name: str | None = None
    strategy: Literal["weighted_round_robin", "least_loaded"] = "weighted_round_robin"
    owner_stickiness: bool = False
    overflow: Id | None = None
    max_rejections: int | None = Field(default=None, ge=1)
    after_rejections: Literal["pool", "manager"] = "pool"
    manager: Id | None = None
    members: list[MemberSpec] = Field(default_factory=list)


class RequiresSpec(_Spec):
    skills: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)


class RuleSpec(_Spec):
    id: Id
    stage: Literal["intake", "qualified"] = "intake"
    when: dict[str, Scalar | list[Scalar]] = Field(default_factory=dict)
    requires: RequiresSpec | None = None
    team: Id | None = None
    rep: Id | None = None
    pool: Literal[True] | None = None
    nurture: Id | None = None
    qualify: Id | None = None

    @model_validator(mode="after")
    def _one_target(self) -> RuleSpec:
        given = [name for name in TARGETS if getattr(self, name) is not None]
        if len(given) != 1:
            has = f" (has {', '.join(given)})" if given else ""
            raise ValueError(f"rule {self.id} needs exactly one target: team, rep, pool: true, nurture or qualify{has}")
        return self

    @property
    def target(self) -> tuple[Target, str | None]:
        name = next(name for name in TARGETS if getattr(self, name) is not None)
        return name, None if name == "pool" else getattr(self, name)


class RuleSetSpec(_Spec):
    version: str = Field(min_length=1)
    defaults: DefaultsSpec = DefaultsSpec()
    reps: list[RepSpec] = Field(default_factory=list)
    teams: list[TeamSpec] = Field(default_factory=list)
    rules: list[RuleSpec] = Field(default_factory=list)
