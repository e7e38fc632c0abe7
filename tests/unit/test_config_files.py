"""shared.config: YAML with the line of every key, errors that name lines, durations, a watched file of any kind."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from shared.config.durations import format_duration, parse_duration
from shared.config.yamlfile import ConfigError, WatchedFile, combine, compose, digest, error_at, read_text, validate
from tests.watched_files import RecordingLog, write

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("30s", timedelta(seconds=30)),
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("7d", timedelta(days=7)),
        ("1d12h", timedelta(hours=36)),
        ("1h30m", timedelta(minutes=90)),
        ("0s", timedelta(0)),
        (" 2H ", timedelta(hours=2)),
    ],
)
def test_durations(text: str, value: timedelta) -> None:
    assert parse_duration(text) == value
    assert parse_duration(format_duration(value)) == value


@pytest.mark.parametrize("text", ["", "7", "d", "2 days", "-1h", "1h1d", "1.5h", "1w"])
def test_bad_durations_say_what_to_write(text: str) -> None:
    with pytest.raises(ValueError, match=r"write e\.g\. 30s, 15m, 2h, 7d or 1d12h"):
        parse_duration(text)


def test_compose_records_the_line_of_every_key_and_item() -> None:
    raw, lines = compose("a: 1\nb:\n  - x\n  - {c: true}\n", "f.yaml")
    assert raw == {"a": 1, "b": ["x", {"c": True}]}
    assert lines[("a",)] == 1
    assert lines[("b", 1)] == 4
    assert lines[("b", 1, "c")] == 4


def test_compose_refuses_tags_and_duplicate_keys() -> None:
    with pytest.raises(
        ConfigError, match=r"^f\.yaml:2: b: tag tag:yaml\.org,2002:python/object:os\.system is not allowed"
    ):
        compose("a: 1\nb: !!python/object:os.system {}\n", "f.yaml")
    with pytest.raises(ConfigError, match=r"^f.yaml:3: a: duplicate key") as caught:
        compose("a: 1\nb: 2\na: 3\n", "f.yaml")
    assert caught.value.line == 3


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str
    items: list[int] = []


def test_validate_names_each_problem_at_its_line() -> None:
    text = "name: x\nitems:\n  - 1\n  - two\nextra: 1\n"
    raw, lines = compose(text, "f.yaml")
    with pytest.raises(ConfigError) as caught:
        validate(Spec, raw, lines, "f.yaml")
    assert str(caught.value).startswith("f.yaml:4: items[1]: Input should be a valid integer; f.yaml:5: extra:")
    assert caught.value.line == 4


def test_error_at_a_missing_key_points_at_its_parent_and_errors_combine_in_file_order() -> None:
    _, lines = compose("a:\n  b: 1\nc: 2\n", "f.yaml")
    late, early = error_at(lines, ("c",), "f.yaml", "later"), error_at(lines, ("a", "zz"), "f.yaml", "no zz")
    assert str(early) == "f.yaml:1: a.zz: no zz"
    both = combine([late, early])
    assert str(both) == "f.yaml:1: a.zz: no zz; f.yaml:3: c: later"
    assert both.line == 1


def parse_number(text: str, source: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"{source}:1: not a number") from None


def test_a_watched_file_of_any_kind_logs_under_its_own_name(tmp_path: Path) -> None:
    path, log = tmp_path / "n.txt", RecordingLog()
    write(path, "1", 0)
    watched = WatchedFile(path, parse_number, "nurture_tracks", what="tracks", log=log)
    assert (watched.current, watched.text) == (1, "1")
    for tick, text in enumerate(["22", "x"], 1):
        write(path, text, tick)
        watched.refresh()
    assert [event for _, event, _ in log.events] == ["nurture_tracks_reloaded", "nurture_tracks_rejected"]
    assert log.events[1][2]["error"] == f"{path}:1: not a number"
    assert (watched.current, watched.text) == (22, "22")
    path.unlink()
    with pytest.raises(ConfigError, match="cannot read the tracks"):
        read_text(path, "tracks")
    assert len(digest("x")) == 64
