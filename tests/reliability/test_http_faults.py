"""Cases 1 and 2: the server (or a proxy in front of it) misbehaves on some requests.

Transient faults are retried and the run loads exactly the server's rows; every retry is
accounted for (each URL is requested once, plus once per fault it received). A fault that
persists past the retries fails the run with a message naming the server and the problem,
and the next clean run converges.
"""

from __future__ import annotations

from collections import Counter

import pytest

from assets.registry import OSCAR, POSIT_CONNECT
from tests.oscar.support import assert_tables_match
from tests.reliability.support import assert_posit_exact, failure_message, headline, run


def requests_per_url(sim) -> tuple[Counter, Counter]:
    """(requests per method+URL, faults per method+URL) from the simulator's arrival log."""
    requests, faults = Counter(), Counter()
    for _, method, target, fault in sim.request_times:
        requests[(method, target)] += 1
        if fault:
            faults[(method, target)] += 1
    return requests, faults


def assert_each_fault_cost_one_retry(sim) -> int:
    """Every URL was requested once, plus exactly once more per fault it got: retries are
    bounded and nothing is requested twice without a reason. Returns the faults applied."""
    requests, faults = requests_per_url(sim)
    extra = {url: n for url, n in requests.items() if n != 1 + faults[url]}
    assert not extra, f"requests beyond one per URL plus one per fault: {extra}"
    return sum(faults.values())


# -- case 1: status faults; case 2: transport and content faults -------------------------------
STATUS = [
    {"kind": "status", "status": 429, "retry_after": 1, "every": 9, "times": 2},
    {"kind": "status", "status": 500, "every": 7, "times": 4},
    {"kind": "status", "status": 502, "every": 11, "times": 3},
    {"kind": "status", "status": 503, "every": 13, "times": 3},
]
TRANSIENT = [
    # a response slower than the request timeout (set to 1s below)
    {"kind": "slow", "delay": 1.6, "every": 17, "times": 2},
    # the connection is reset half-way through the body
    {"kind": "reset", "every": 7, "times": 3},
    # a body cut short but framed as complete: invalid JSON with status 200
    {"kind": "truncate", "every": 11, "times": 3},
    # a proxy's maintenance page with status 200
    {"kind": "html200", "every": 13, "times": 3},
]


FAULTS = [*STATUS, *TRANSIENT]


def fault_counts(faults: list[dict]) -> Counter:
    return Counter({str(f.get("status", f["kind"])): f["times"] for f in faults})


def test_status_transport_and_content_faults_are_retried_at_one_request_each(
    posit, instance, monkeypatch
):
    """One run through every kind of transient fault (one run, not one per kind: each is a
    full load of every table)."""
    monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__REQUEST_TIMEOUT", "1")
    for fault in FAULTS:
        posit.add_fault(**fault)

    result = run(POSIT_CONNECT, instance=instance)

    assert result.success, failure_message(result)
    assert_posit_exact(posit)
    assert Counter(posit.stats()["faults"]) == fault_counts(STATUS) + fault_counts(TRANSIENT)
    assert assert_each_fault_cost_one_retry(posit) == sum(f["times"] for f in FAULTS)
    # The retry of a 429 waited at least the Retry-After the server asked for.
    log = posit.request_times
    for index, (at, method, target, fault) in enumerate(log):
        if fault == "429":
            retried_at = next(t for t, m, u, _ in log[index + 1 :] if (m, u) == (method, target))
            assert retried_at - at >= 0.95, f"{target} retried {retried_at - at:.2f}s after 429"


def test_oscar_faults_of_every_kind_are_retried(oscar, instance, monkeypatch):
    """The same shared HTTP layer under OSCAR: Basic auth, job pages with `next_page`
    tokens, plain-text errors. OSCAR's source asks some URLs twice by design (several
    tables read /system/config), so the retries are counted against a clean run's requests."""
    monkeypatch.setenv("SOURCES__OSCAR_SOURCE__REQUEST_TIMEOUT", "1")
    assert run(OSCAR, instance=instance).success
    clean, _ = requests_per_url(oscar)
    oscar.reset_counters()
    faults = [
        {"kind": "status", "status": 429, "retry_after": 1, "every": 13, "times": 1},
        {"kind": "status", "status": 502, "every": 7, "times": 3},
        {"kind": "status", "status": 503, "every": 11, "times": 2},
        *TRANSIENT,
    ]
    for fault in faults:
        oscar.add_fault(**fault)

    result = run(OSCAR, instance=instance)

    assert result.success, failure_message(result)
    requests, faulted = requests_per_url(oscar)  # before the expectations ask the server
    assert requests == clean + faulted  # one more request per fault, none beyond
    assert sum(faulted.values()) == sum(f["times"] for f in faults)
    assert_tables_match(oscar)


def test_json_with_a_wrong_content_type_is_accepted_as_json(posit, instance):
    """A proxy that relabels JSON as text/html changes no data: the body is read as JSON,
    nothing is retried, nothing lost."""
    posit.add_fault(kind="wrong_content_type", every=3)
    tables = ["content", "content_item", "users", "audit_logs", "content_visits"]

    result = run(POSIT_CONNECT, tables, instance=instance)

    assert result.success, failure_message(result)
    assert_posit_exact(posit, tables)
    assert posit.stats()["faults"]["wrong_content_type"] > 10
    requests, _ = requests_per_url(posit)
    assert set(requests.values()) == {1}


PERSISTENT = {
    "slow": ({"kind": "slow", "delay": 2.0}, "did not answer within 1"),
    "reset": ({"kind": "reset"}, "closed the connection"),
    "truncate": ({"kind": "truncate"}, "not valid JSON"),
    "html200": ({"kind": "html200"}, "text/html instead of JSON"),
    "503": ({"kind": "status", "status": 503}, "HTTP 503"),
}


@pytest.mark.parametrize("fault", list(PERSISTENT))
def test_a_fault_that_persists_fails_clearly_and_the_next_clean_run_converges(
    posit, instance, monkeypatch, fault
):
    spec, says = PERSISTENT[fault]
    monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__REQUEST_TIMEOUT", "1")
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "3")
    posit.add_fault(route=r"/v1/users$", **spec)

    failed = run(POSIT_CONNECT, ["users"], instance=instance)

    assert not failed.success
    message = headline(failed)
    assert "users" in message
    assert posit.url in message  # names the server
    assert says in message, message
    assert "3 attempts" in message
    requests, _ = requests_per_url(posit)
    users_requests = sum(n for (_, url), n in requests.items() if "/v1/users" in url)
    assert users_requests == 3  # bounded by RUNTIME__REQUEST_MAX_ATTEMPTS

    posit.clear_faults()
    assert run(POSIT_CONNECT, ["users"], instance=instance).success
    assert_posit_exact(posit, ["users"])
