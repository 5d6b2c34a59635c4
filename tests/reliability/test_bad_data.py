"""Case 6: bad data from the server. Text of any kind round-trips byte for byte; a key that
appears twice within a load is stored once; a row without the key that identifies it in an
append-only table is skipped and reported (it could not be told apart from its retry, and
dlt refuses a NULL key, which would fail every load); a page of 10,000 items loads exactly.

The Go servers behind both APIs (Connect, OSCAR) never send unpaired UTF-16 surrogates
(`encoding/json` writes invalid text as U+FFFD), so those are not exercised here.
"""

from __future__ import annotations

from collections import Counter

from assets.registry import POSIT_CONNECT
from tests.reliability.support import (
    POSIT_KEYS,
    assert_posit_exact,
    failure_message,
    loaded_keys,
    posit_expected_keys,
    query,
    run,
)

TEXTS = [
    "📊 Ventas — Q3 ✓",  # emoji, dashes, symbols
    "تقرير المبيعات",  # right to left
    "売上レポート 월간 보고서",  # CJK
    "e\u0301 vs \u00e9, zero\u200bwidth, \ufeffBOM",  # combining, zero width, BOM
    'tab\tnew\nline "quoted" \\back\\slash',
    "nul\x00byte",
    "",  # an empty string stays empty, not NULL
]
HUGE = "Ω" * 1_000_000 + "end"  # 2 MB of UTF-8 in one field


def test_unicode_empty_strings_and_huge_text_round_trip_exactly(posit, instance):
    with posit._data_lock:
        live = posit.data.live_content()
        for item, text in zip(live, TEXTS, strict=False):
            item["title"] = text
        live[len(TEXTS)]["description"] = ""
        live[len(TEXTS) + 1]["description"] = HUGE
        posit.data.users[3]["first_name"] = "Zoë 🚀 \u200f"
        posit._content_json.clear()
    tables = ["content", "content_item", "users"]  # where the texts are

    result = run(POSIT_CONNECT, tables, instance=instance)

    assert result.success, failure_message(result)
    assert_posit_exact(posit, tables)
    expected = {(c["guid"], c["title"], c["description"]) for c in posit.data.live_content()}
    for table in ("content", "content_item"):
        stored = query(
            POSIT_CONNECT,
            f"SELECT guid, title, description FROM {table} "
            f"WHERE {POSIT_CONNECT.catalog[table].load.current_filter}",
        )
        assert set(stored) == expected, table
    names = query(POSIT_CONNECT, "SELECT first_name FROM users WHERE _dlt_valid_to IS NULL")
    assert ("Zoë 🚀 \u200f",) in names


def test_keys_repeated_within_a_page_are_stored_once(posit, instance):
    """A server paging bug (or a row on both sides of a page boundary) sends the same row
    twice in one load: snapshot tables, event tables and row-keyed visits keep one."""
    with posit._data_lock:
        data = posit.data
        data.users.append(dict(data.users[4]))  # the same user twice on the page
        data.tags.append(dict(data.tags[2]))
        render_audit, render_visit = data.render_audit, data.render_visit
        # position 8 repeats position 7 (its own row is not on the server any more)
        data.render_audit = lambda p: render_audit(p - 1 if p == 8 else p)
        data.render_visit = lambda p: render_visit(p - 1 if p == 9 else p)
        expected = {
            table: Counter(dict.fromkeys(keys, 1))  # each key once
            for table, keys in posit_expected_keys(posit).items()
        }
    tables = ["users", "tags", "audit_logs", "content_visits"]  # where the repeats are

    result = run(POSIT_CONNECT, tables, instance=instance)

    assert result.success, failure_message(result)
    for table in tables:
        assert loaded_keys(POSIT_CONNECT, table, POSIT_KEYS[table]) == expected[table], table
    assert len(expected["audit_logs"]) == len(posit.data.audit) - 1
    assert len(expected["content_visits"]) == len(posit.data.visits) - 1


def test_rows_without_their_key_are_skipped_in_event_tables_and_reported(posit, instance):
    with posit._data_lock:
        render_audit = posit.data.render_audit
        posit.data.render_audit = lambda p: {**render_audit(p), "id": None} if p == 7 else render_audit(p)  # fmt: skip
        posit.data.users[5]["guid"] = None  # a snapshot row keeps its NULL key
    tables = ["audit_logs", "users"]

    result = run(POSIT_CONNECT, tables, instance=instance)

    assert result.success, failure_message(result)
    expected = posit_expected_keys(posit)
    expected["audit_logs"] = Counter(k for k in expected["audit_logs"].elements() if k != (None,))
    for table in tables:
        assert loaded_keys(POSIT_CONNECT, table, POSIT_KEYS[table]) == expected[table], table
    assert loaded_keys(POSIT_CONNECT, "users", ("guid",))[(None,)] == 1
    logged = [e.message for e in instance.all_logs(result.run_id) if "without" in (e.message or "")]
    assert any("audit_logs" in m and "1 row" in m and "id" in m for m in logged), logged


def test_a_page_of_ten_thousand_items_loads_exactly(simulators, instance, monkeypatch):
    from simulators.posit_connect import PositConnectSimulator

    with PositConnectSimulator(content=10_000, users=20, visits=0, audit_logs=0) as sim:
        simulators.append(sim)
        monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__BASE_URL", sim.url)
        monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__API_KEY", sim.api_key)

        result = run(POSIT_CONNECT, ["content", "users", "tags"], instance)

        assert result.success, failure_message(result)
        assert sim.stats()["requests"]["GET /__api__/v1/content"] == 1  # one page, no paging
        found = assert_posit_exact(sim, ["content", "users", "tags"])
    assert found["content"] == 10_000
