"""Time, injectable so tests can move it; all times are timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def iso8601(moment: datetime) -> str:
    """The wire form: ISO 8601 with milliseconds and an explicit offset."""
    return moment.isoformat(timespec="milliseconds")
