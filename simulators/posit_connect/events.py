"""Append-only event logs (audit logs, content visits, Shiny sessions) and keyset paging.

Busy Connect servers hold millions of visits, and benchmarks page through a million of them,
so a log keeps its rows in typed columns (a few bytes a row instead of a dict) and builds the
JSON objects of one page only. Rows are sorted by time and only ever appended, so a row's
position never changes: that position is the keyset cursor, stable while new events arrive,
and a page costs O(log n + limit) whatever the filters.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass

NO_INDEX = -1  # "no content" / "anonymous user" in the int columns


@dataclass(frozen=True)
class KeysetQuery:
    """One keyset page request, already validated: cursors are row positions."""

    limit: int
    ascending: bool = True
    next_position: int | None = None
    previous_position: int | None = None
    start_us: int | None = None
    end_us: int | None = None
    content_index: int | None = None
    empty: bool = False  # a filter that no row can match (e.g. min_data_version above 1)


@dataclass(frozen=True)
class KeysetPage:
    """Positions of one page in output order, and the cursors to the pages either side."""

    positions: list[int]
    next_position: int | None
    previous_position: int | None


class EventLog:
    """Events in columns, sorted by time, only ever appended to.

    Columns: `times` (epoch microseconds), `content` and `user` (indexes into the simulator's
    lists, NO_INDEX when absent) and `bits` (per-row random bits from which the row's other
    fields are derived, so they need no storage of their own).
    """

    def __init__(self) -> None:
        self.times = array("q")
        self.content = array("i")
        self.user = array("i")
        self.bits = array("Q")
        # Positions per content index, built on the first `content_guid` filter: most runs
        # never filter, and building it costs a pass over every row.
        self._by_content: dict[int, array] | None = None

    def __len__(self) -> int:
        return len(self.times)

    def extend(
        self,
        times: Sequence[int],
        content: Sequence[int],
        user: Sequence[int],
        bits: Sequence[int],
    ) -> None:
        if not times:
            return
        if self.times and times[0] < self.times[-1]:
            raise ValueError("events must be appended in time order")
        first_new = len(self.times)
        self.times.extend(times)
        self.content.extend(content)
        self.user.extend(user)
        self.bits.extend(bits)
        if self._by_content is not None:
            self._index_content(first_new)

    @property
    def last_time(self) -> int | None:
        return self.times[-1] if self.times else None

    def between(self, start_us: int | None, end_us: int | None) -> range:
        """Positions of every row with start_us <= time <= end_us (both inclusive): what an
        endpoint without paging (content hits) returns for a from/to window."""
        low, high = self._time_window(range(len(self.times)), start_us, end_us)
        return range(low, high)

    def page(self, query: KeysetQuery) -> KeysetPage:
        """The rows `query` asks for; see `_slice_bounds` for how cursors move."""
        if query.empty:
            return KeysetPage([], None, None)
        view, start_us = self._from(self._view(query.content_index), query.start_us)
        low, high = self._time_window(view, start_us, query.end_us)
        start, stop = _slice_bounds(view, low, high, query)
        positions = list(view[start:stop])
        more_below, more_above = start > low, stop < high
        if not query.ascending:
            positions.reverse()
            more_below, more_above = more_above, more_below
        if not positions:
            return KeysetPage([], None, None)
        return KeysetPage(
            positions,
            next_position=positions[-1] if more_above else None,
            previous_position=positions[0] if more_below else None,
        )

    # -- internals ---------------------------------------------------------------
    def _view(self, content_index: int | None) -> Sequence[int]:
        """The sorted row positions a query may return, before the time window."""
        if content_index is None:
            return range(len(self.times))
        if self._by_content is None:
            self._by_content = {}
            self._index_content(0)
        return self._by_content.get(content_index, array("i"))

    def _from(self, view: Sequence[int], start_us: int | None) -> tuple[Sequence[int], int | None]:
        """The view and lower time bound that `from` leaves: events at or after it."""
        return view, start_us

    def _index_content(self, first_position: int) -> None:
        assert self._by_content is not None
        by_content = self._by_content
        for position in range(first_position, len(self.content)):
            content_index = self.content[position]
            positions = by_content.get(content_index)
            if positions is None:
                positions = by_content[content_index] = array("i")
            positions.append(position)

    def _time_window(
        self, view: Sequence[int], start_us: int | None, end_us: int | None
    ) -> tuple[int, int]:
        """Indexes into `view` of the rows with start_us <= time <= end_us (both inclusive)."""
        first = 0 if start_us is None else bisect_left(self.times, start_us)
        after_last = len(self.times) if end_us is None else bisect_right(self.times, end_us)
        return bisect_left(view, first), bisect_left(view, after_last)


class SessionLog(EventLog):
    """Shiny sessions, which have an end. Connect's `from` drops only the sessions that ended
    before it (connectapi `get_usage_shiny` documentation; posit-sdk
    src/posit/connect/metrics/shiny_usage.py passes `from`/`to` through): one that started earlier and ended at or after it, or is still open, is
    returned too (so a session spanning two windows is in both). A session's end is derived
    from its bits (`duration_us`), unless it was opened or closed since (`ends`: position ->
    end, None while open)."""

    def __init__(self, duration_us: Callable[[int], int], longest_us: int) -> None:
        super().__init__()
        self._duration_us = duration_us
        self._longest_us = longest_us
        self.ends: dict[int, int | None] = {}

    def ended(self, position: int) -> int | None:
        if position in self.ends:
            return self.ends[position]
        return self.times[position] + self._duration_us(self.bits[position])

    def _from(self, view: Sequence[int], start_us: int | None) -> tuple[Sequence[int], int | None]:
        if start_us is None:
            return view, None
        first = bisect_left(self.times, start_us)
        # derived sessions are at most `longest_us` long; those set by hand are few
        recent = range(bisect_left(self.times, start_us - self._longest_us), first)
        earlier = {*recent, *(p for p in self.ends if p < recent.start)}
        reaching = sorted(
            p
            for p in earlier
            if _contains(view, p) and ((end := self.ended(p)) is None or end >= start_us)
        )
        return _Chain(reaching, view[bisect_left(view, first) :]), None


def _contains(view: Sequence[int], position: int) -> bool:
    index = bisect_left(view, position)
    return index < len(view) and view[index] == position


class _Chain(Sequence[int]):
    """Two sorted position sequences, the first all below the second, read as one."""

    def __init__(self, head: list[int], tail: Sequence[int]) -> None:
        self._head, self._tail = head, tail

    def __len__(self) -> int:
        return len(self._head) + len(self._tail)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if index < len(self._head):
            return self._head[index]
        return self._tail[index - len(self._head)]


def _slice_bounds(view: Sequence[int], low: int, high: int, query: KeysetQuery) -> tuple[int, int]:
    """The [start, stop) slice of `view` (within [low, high)) that the page covers.

    `next` continues in the output order and `previous` goes back against it; with neither,
    an ascending page starts at the oldest row and a descending one at the newest. The cursor
    row itself was on the page the client already has, so it is excluded.
    """
    if query.next_position is not None:
        cursor, towards_newer = query.next_position, query.ascending
    elif query.previous_position is not None:
        cursor, towards_newer = query.previous_position, not query.ascending
    elif query.ascending:
        return low, min(high, low + query.limit)
    else:
        return max(low, high - query.limit), high
    if towards_newer:
        start = bisect_right(view, cursor, low, high)
        return start, min(high, start + query.limit)
    stop = bisect_left(view, cursor, low, high)
    return max(low, stop - query.limit), stop
