"""RFC3339 timestamps the way Connect writes them.

Times are held as integer microseconds since the Unix epoch (exact, cheap to store in an
`array`, cheap to bisect). What varies is only how an instant is written: Connect sends `Z`
and numeric offsets, some fields with microseconds and some without, and a loader must treat
them all as the same UTC instant.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROS_PER_SECOND = 1_000_000
MICROS_PER_DAY = 86_400 * MICROS_PER_SECOND


@dataclass(frozen=True)
class TimeStyle:
    """How an instant is written: the UTC offset shown and whether microseconds appear."""

    offset_minutes: int = 0
    micros: bool = False

    def format(self, us: int) -> str:
        moment = EPOCH + timedelta(microseconds=us)
        if self.offset_minutes:
            moment = moment.astimezone(_offset(self.offset_minutes))
        text = moment.isoformat(timespec="microseconds" if self.micros else "seconds")
        return text.replace("+00:00", "Z")


@functools.cache
def _offset(minutes: int) -> timezone:
    return timezone(timedelta(minutes=minutes))


UTC_SECONDS = TimeStyle()
UTC_MICROS = TimeStyle(micros=True)
# Offsets seen on real servers whose host clock is not set to UTC.
CEST_SECONDS = TimeStyle(offset_minutes=120)
CEST_MICROS = TimeStyle(offset_minutes=120, micros=True)
EDT_SECONDS = TimeStyle(offset_minutes=-240)
EDT_MICROS = TimeStyle(offset_minutes=-240, micros=True)

# Styles of one precision only: an event's stored instant must equal what the client reads,
# or inclusive `from`/`to` filters built from a returned value would miss that very row.
SECOND_STYLES = (UTC_SECONDS, UTC_SECONDS, UTC_SECONDS, CEST_SECONDS, EDT_SECONDS)
MICRO_STYLES = (UTC_MICROS, UTC_MICROS, UTC_MICROS, CEST_MICROS, EDT_MICROS)
MIXED_STYLES = SECOND_STYLES + MICRO_STYLES


def now_us() -> int:
    return time.time_ns() // 1000


def truncate_to_second(us: int) -> int:
    return us - us % MICROS_PER_SECOND


def parse(text: str) -> int:
    """Parse an RFC3339 timestamp (or a bare date) to epoch microseconds; naive means UTC."""
    # An unencoded "+02:00" in a query string arrives as " 02:00": accept it as the offset.
    moment = datetime.fromisoformat(text.strip().replace(" ", "+"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * MICROS_PER_SECOND + delta.microseconds
