"""One source of time so tests can freeze it. All stored times are timezone-aware UTC."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone

CHINA_TZ = timezone(timedelta(hours=8), name="Asia/Shanghai")

_now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    return _now()


def today_in_china() -> date:
    return now().astimezone(CHINA_TZ).date()


def set_clock(fn: Callable[[], datetime]) -> Callable[[], datetime]:
    """Replace the clock (tests); returns the previous one so it can be restored."""
    global _now  # noqa: PLW0603 - the single process-wide clock is the point
    previous = _now
    _now = fn
    return previous


def as_utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes; everything we store is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
