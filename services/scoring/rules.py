"""The YAML points model: fit, channel, decaying engagement and negative points, each contribution explained."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from shared.config.yamlfile import ConfigError, WatchedFile, compose, digest, read_text, validate
from shared.runtime.logging import get_logger

_log = get_logger(__name__)
_SECONDS_PER_DAY = 86_400.0

RulesError = ConfigError  # a points file that cannot be used; the message names the file, the line and the field


@dataclass(frozen=True, slots=True)
class RuleFactor:
    name: str
    contribution: float
    detail: str | None  # the value that earned the points: a code or a listed value, never contact data


@dataclass(frozen=True, slots=True)
class RuleScore:
    points: float
    factors: list[RuleFactor]


# --- the file's schema -------------------------------------------------------------------------------------------


def _fold(value: object) -> str:
    """Table keys and lead values meet folded: `CRM` earns what `crm` earns, True what `true` earns."""
    return value.lower() if isinstance(value, str) else str(value).lower()


def _folded_keys(table: dict[str, float]) -> dict[str, float]:
    folded = {_fold(k): v for k, v in table.items()}
    if len(folded) != len(table):
        raise ValueError("keys must differ in more than upper/lower case")
    return folded


Points = Annotated[float, Field(ge=-100, le=100)]
Penalty = Annotated[float, Field(ge=-100, le=0)]  # a positive "negative" is a sign slip, refused
Table = Annotated[dict[str, Points], AfterValidator(_folded_keys)]
Domain = Annotated[str, Field(pattern=r"^(?:[a-z0-9-]+\.)+[a-z0-9-]+$")]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ProductInterest(_Spec):
    combine: Literal["max", "sum"] = "max"
    points: Table = Field(default_factory=dict)


class Fit(_Spec):
    industry: Table = Field(default_factory=dict)
    size_band: Table = Field(default_factory=dict)
    country: Table = Field(default_factory=dict)
    region: Table = Field(default_factory=dict)
    sales_region: Table = Field(default_factory=dict)
    seniority: Table = Field(default_factory=dict)
    function: Table = Field(default_factory=dict)
    product_interest: ProductInterest = Field(default_factory=ProductInterest)


class Channel(_Spec):
    default: Points = 0
    points: Table = Field(default_factory=dict)


class Engagement(_Spec):
    half_life_days: float = Field(gt=0)
    max: float = Field(gt=0, le=100)
    points: Table = Field(default_factory=dict)


class Contact(_Spec):
    """Points for a lead sales can reach and place: a valid phone, a work email, a named company."""

    phone: Points = 0  # a valid phone number
    work_email: Points = 0  # a valid email address that is not free-mail
    email: Points = 0  # a valid free-mail address (a work one earns `work_email` instead)
    company: Points = 0  # the company is named


class Competitor(_Spec):
    points: Penalty
    domains: list[Domain] = Field(min_length=1)


class Negative(_Spec):
    free_mail: Penalty = 0
    email_invalid: Penalty = 0
    phone_invalid: Penalty = 0
    competitor: Competitor | None = None


def _below(info: ValidationInfo, value: float, above: str) -> float:
    higher = info.data.get(above)
    if higher is not None and value >= higher:
        raise ValueError(f"must be below {above} ({higher:g}): thresholds fall strictly from {above} down")
    return value


class Grades(_Spec):
    A: float = Field(ge=0, le=100)
    B: float = Field(ge=0, le=100)
    C: float = Field(ge=0, le=100)  # below C is D

    @field_validator("B", "C")
    @classmethod
    def _falling(cls, value: float, info: ValidationInfo) -> float:
        return _below(info, value, "A" if info.field_name == "B" else "B")


class Temperature(_Spec):
    hot: float = Field(ge=0, le=100)
    warm: float = Field(ge=0, le=100)  # below warm is cold

    @field_validator("warm")
    @classmethod
    def _falling(cls, value: float, info: ValidationInfo) -> float:
        return _below(info, value, "hot")


class PointsSpec(_Spec):
    version: str = Field(min_length=1)
    base: Points = 0
    fit: Fit = Field(default_factory=Fit)
    channel: Channel = Field(default_factory=Channel)
    contact: Contact = Field(default_factory=Contact)
    engagement: Engagement | None = None
    negative: Negative = Field(default_factory=Negative)
    attributes: dict[str, Table] = Field(default_factory=dict)
    grades: Grades
    temperature: Temperature


# --- the compiled model ------------------------------------------------------------------------------------------

_FIT = ("industry", "size_band", "country", "region", "sales_region", "seniority", "function")


class PointsModel:
    """A validated points file, compiled into lookups; `score` does no parsing and no I/O."""

    def __init__(self, spec: PointsSpec, version: str) -> None:
        self.spec = spec
        self.version = version
        self._base = spec.base
        self._fit = tuple((name, _factors(name, table)) for name in _FIT if (table := getattr(spec.fit, name)))
        self._products = _factors("product_interest", spec.fit.product_interest.points)
        self._products_sum = spec.fit.product_interest.combine == "sum"
        # A listed channel worth 0 is kept (as None) so that it does not fall back to the default.
        self._channel = {v: RuleFactor("channel", p, v) if p else None for v, p in spec.channel.points.items()}
        self._channel_default = spec.channel.default
        contact = spec.contact
        self._contact_phone = RuleFactor("contact", contact.phone, "phone") if contact.phone else None
        self._contact_work = RuleFactor("contact", contact.work_email, "work_email") if contact.work_email else None
        self._contact_email = RuleFactor("contact", contact.email, "email") if contact.email else None
        self._contact_company = RuleFactor("contact", contact.company, "company") if contact.company else None
        engagement = spec.engagement
        self._engagement = engagement.points if engagement else {}
        self._half_life = engagement.half_life_days * _SECONDS_PER_DAY if engagement else 1.0
        self._max_engagement = engagement.max if engagement else 0.0
        negative = spec.negative
        self._negative = tuple(
            (name, points)
            for name, points in (
                ("free_mail", negative.free_mail),
                ("email_invalid", negative.email_invalid),
                ("phone_invalid", negative.phone_invalid),
            )
            if points
        )
        self._competitor = frozenset(negative.competitor.domains if negative.competitor else ())
        self._competitor_points = negative.competitor.points if negative.competitor else 0.0
        self._attributes = tuple((name, _factors(f"attributes.{name}", t)) for name, t in spec.attributes.items())
        self._grades = (spec.grades.A, spec.grades.B, spec.grades.C)
        self._temperature = (spec.temperature.hot, spec.temperature.warm)

    def score(self, features: Mapping[str, Any], now: datetime) -> RuleScore:
        """Base plus every matching entry, clamped to 0..100; factors largest |contribution| first."""
        factors: list[RuleFactor] = []
        for name, table in self._fit:
            value = features.get(name)
            if value is not None and (factor := table.get(_fold(value))):
                factors.append(factor)
        if self._products and (products := features.get("product_interest")):
            self._product_factors(products, factors)
        self._channel_factor(features.get("source"), factors)
        self._contact_factors(features, factors)
        if self._engagement and (events := features.get("engagement")):
            self._engagement_factors(events, now, factors)
        self._negative_factors(features, factors)
        if self._attributes and (attributes := features.get("attributes")):
            for name, table in self._attributes:
                value = attributes.get(name)
                if value is not None and (factor := table.get(_fold(value))):
                    factors.append(factor)
        total = self._base + sum(f.contribution for f in factors)
        factors.sort(key=_magnitude)
        return RuleScore(round(min(100.0, max(0.0, total)), 2), factors)

    def grade(self, score: float) -> Literal["A", "B", "C", "D"]:
        a, b, c = self._grades
        return "A" if score >= a else "B" if score >= b else "C" if score >= c else "D"

    def temperature(self, score: float) -> Literal["hot", "warm", "cold"]:
        hot, warm = self._temperature
        return "hot" if score >= hot else "warm" if score >= warm else "cold"

    def _product_factors(self, products: Sequence[object], factors: list[RuleFactor]) -> None:
        if isinstance(products, str):  # one product sent as text rather than a list
            products = [products]
        earned = [factor for p in products if (factor := self._products.get(_fold(p)))]
        if earned and not self._products_sum:
            earned = [max(earned, key=lambda f: f.contribution)]
        factors.extend(earned)

    def _channel_factor(self, source: object, factors: list[RuleFactor]) -> None:
        key = _fold(source) if source else None
        if key in self._channel:
            if factor := self._channel[key]:
                factors.append(factor)
        elif self._channel_default:
            factors.append(RuleFactor("channel", self._channel_default, str(source) if source else None))

    def _contact_factors(self, features: Mapping[str, Any], factors: list[RuleFactor]) -> None:
        if self._contact_phone and features.get("has_phone"):
            factors.append(self._contact_phone)
        if features.get("has_email"):
            email = self._contact_email if features.get("free_mail") else self._contact_work
            if email:
                factors.append(email)
        if self._contact_company and features.get("has_company"):
            factors.append(self._contact_company)

    def _engagement_factors(
        self, events: Sequence[Mapping[str, Any]], now: datetime, factors: list[RuleFactor]
    ) -> None:
        """Each entry's points halve every half-life; positive points together are capped at `max`."""
        by_kind: dict[str, float] = {}
        for event in events:
            kind = _fold(event.get("kind"))
            points = self._engagement.get(kind)
            age = _age_seconds(event.get("at"), now) if points else None
            if points and age is not None:
                by_kind[kind] = by_kind.get(kind, 0.0) + points * 0.5 ** (age / self._half_life)
        earned = sum(v for v in by_kind.values() if v > 0)
        scale = self._max_engagement / earned if earned > self._max_engagement else 1.0
        for kind, value in by_kind.items():
            if contribution := round(value * scale if value > 0 else value, 2):
                factors.append(RuleFactor("engagement", contribution, kind))

    def _negative_factors(self, features: Mapping[str, Any], factors: list[RuleFactor]) -> None:
        domain = features.get("email_domain")
        for name, points in self._negative:
            if features.get(name):
                factors.append(RuleFactor(name, points, str(domain) if name == "free_mail" and domain else None))
        if self._competitor and isinstance(domain, str) and (matched := self._competitor_of(domain.lower())):
            factors.append(RuleFactor("competitor_domain", self._competitor_points, matched))

    def _competitor_of(self, domain: str) -> str | None:
        """The listed domain that is `domain` or one of its parents (`mail.rival.cn` → `rival.cn`)."""
        while "." in domain:
            if domain in self._competitor:
                return domain
            domain = domain.partition(".")[2]
        return None


def _factors(name: str, table: Mapping[str, float]) -> dict[str, RuleFactor]:
    """Folded value → its factor, built once: `score` hands out these instances instead of making new ones."""
    return {value: RuleFactor(name, points, value) for value, points in table.items() if points}


def _magnitude(factor: RuleFactor) -> float:
    return -abs(factor.contribution)


def _age_seconds(at: object, now: datetime) -> float | None:
    """Seconds since `at` (a datetime or ISO text; a naive one is UTC), never negative; None if unreadable."""
    if isinstance(at, str):
        try:
            at = datetime.fromisoformat(at)
        except ValueError:
            return None
    if not isinstance(at, datetime):
        return None
    if (at.tzinfo is None) != (now.tzinfo is None):
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC).replace(tzinfo=None)
    return max(0.0, (now - at).total_seconds())


# --- loading and hot reload -------------------------------------------------------------------------------------

_WHAT = "points model"  # as in "cannot read the points model"


def parse_points_model(text: str, source: str = "<string>") -> PointsModel:
    """Validate a points file's text; RulesError names `source`, the line and the field path."""
    raw, lines = compose(text, source)
    spec = validate(PointsSpec, raw, lines, source)
    return PointsModel(spec, f"{spec.version}+{digest(text)[:8]}")


def load_points_model(path: Path) -> PointsModel:
    return parse_points_model(read_text(path, _WHAT), str(path))


class RulesFile(WatchedFile[PointsModel]):
    """The points file on disk and the model in force: `refresh` swaps in a changed, valid file."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, parse_points_model, "scoring_rules", what=_WHAT, log=_log)
