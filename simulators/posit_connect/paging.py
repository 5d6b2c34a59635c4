"""Connect's two paged styles, shared by every route that uses them.

1. Page number (users, groups, group members): `page_number` from 1, `page_size` default 20,
   larger than 500 clamped to 500; envelope `{"results", "current_page", "total"}`. Bundles
   page the same way but answer the bare array, with no total.
2. Keyset (audit logs, instrumentation): `limit` default 20 (max 500), opaque `next` /
   `previous` cursors and an ascending flag (spelled `ascOrder` on audit logs, `asc_order` on
   instrumentation); envelope `{"results", "paging": {"cursors": {...}, "first", "previous",
   "next", "last"}}` where the links are absolute URLs and `next` is null on the last page.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from simulators._server import Request

from . import timestamps
from .errors import bad_request
from .events import KeysetPage, KeysetQuery

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 500
CURSOR_PREFIX = b"pos:"


def int_arg(request: Request, name: str, default: int, minimum: int) -> int:
    raw = request.arg(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"{name} must be an integer") from None
    if value < minimum:
        raise bad_request(f"{name} must be at least {minimum}")
    return value


def bool_arg(request: Request, name: str, default: bool) -> bool:
    raw = request.arg(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise bad_request(f"{name} must be true or false")


# -- page number ------------------------------------------------------------------
def page_number_slice(items: Sequence[dict], request: Request) -> list[dict]:
    """The page `page_number` of `page_size` items (default 20, at most 500)."""
    page_number = int_arg(request, "page_number", 1, minimum=1)
    page_size = min(int_arg(request, "page_size", DEFAULT_PAGE_SIZE, minimum=1), MAX_PAGE_SIZE)
    start = (page_number - 1) * page_size
    return list(items[start : start + page_size])


def page_number_envelope(items: Sequence[dict], request: Request) -> dict:
    return {
        "results": page_number_slice(items, request),
        "current_page": int_arg(request, "page_number", 1, minimum=1),
        "total": len(items),
    }


# -- keyset -------------------------------------------------------------------------
def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(CURSOR_PREFIX + str(position).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        if raw.startswith(CURSOR_PREFIX):
            return int(raw[len(CURSOR_PREFIX) :])
    except (binascii.Error, ValueError):
        pass
    raise bad_request(f"invalid cursor {cursor!r}")


@dataclass(frozen=True)
class KeysetStyle:
    """How one keyset endpoint spells its ascending flag and which filters it takes."""

    order_param: str
    filter_params: tuple[str, ...] = ()


AUDIT_LOG_STYLE = KeysetStyle(order_param="ascOrder")
INSTRUMENTATION_STYLE = KeysetStyle(
    order_param="asc_order", filter_params=("from", "to", "content_guid", "min_data_version")
)


def time_arg(request: Request, name: str) -> int | None:
    raw = request.arg(name)
    if not raw:
        return None
    try:
        return timestamps.parse(raw)
    except ValueError:
        raise bad_request(f"{name} must be an RFC3339 timestamp") from None


def parse_keyset_query(
    request: Request, style: KeysetStyle, content_index_of: Callable[[str], int | None]
) -> KeysetQuery:
    """Validate a keyset request; `content_index_of` maps a content guid to its index."""
    next_cursor, previous_cursor = request.arg("next"), request.arg("previous")
    content_guid = request.arg("content_guid") if "content_guid" in style.filter_params else None
    content_index = content_index_of(content_guid) if content_guid else None
    uses_filters = bool(style.filter_params)
    # Every row has data_version 1: asking for a newer one matches nothing, as would an
    # unknown content guid.
    empty = (content_guid is not None and content_index is None) or (
        uses_filters and int_arg(request, "min_data_version", 0, minimum=0) > 1
    )
    return KeysetQuery(
        limit=min(int_arg(request, "limit", DEFAULT_PAGE_SIZE, minimum=1), MAX_PAGE_SIZE),
        ascending=bool_arg(request, style.order_param, True),
        next_position=decode_cursor(next_cursor) if next_cursor else None,
        previous_position=decode_cursor(previous_cursor) if previous_cursor else None,
        start_us=time_arg(request, "from") if uses_filters else None,
        end_us=time_arg(request, "to") if uses_filters else None,
        content_index=content_index,
        empty=empty,
    )


def keyset_envelope(
    results: list[dict],
    page: KeysetPage,
    query: KeysetQuery,
    request: Request,
    style: KeysetStyle,
    origin: str,
) -> dict[str, Any]:
    """The response body; the links keep the client's filters, limit and order."""
    next_cursor = encode_cursor(page.next_position) if page.next_position is not None else None
    previous_cursor = (
        encode_cursor(page.previous_position) if page.previous_position is not None else None
    )
    filters = {name: request.arg(name) for name in style.filter_params if request.arg(name)}
    base = f"{origin}{request.path}"

    def link(ascending: bool, **cursor: str) -> str:
        params = {
            **filters,
            **cursor,
            "limit": query.limit,
            style.order_param: "true" if ascending else "false",
        }
        return f"{base}?{urlencode(params)}"

    return {
        "results": results,
        "paging": {
            "cursors": {"previous": previous_cursor, "next": next_cursor},
            "first": link(query.ascending),
            "previous": link(query.ascending, previous=previous_cursor)
            if previous_cursor
            else None,
            "next": link(query.ascending, next=next_cursor) if next_cursor else None,
            # Connect's "last" link is the first page of the opposite order.
            "last": link(not query.ascending),
        },
    }
