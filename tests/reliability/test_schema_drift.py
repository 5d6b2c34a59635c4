"""Case 5: the server's shapes change between runs. The load evolves, as dlt's default schema
contract (`evolve`) designs it, and nothing already loaded is lost:

- a new field becomes a new column, NULL in the rows loaded before;
- a removed field leaves its column in place: the rows loaded before keep their values, new
  versions have NULL there;
- a value whose type changes goes into a variant column `<column>__v_<type>` (the column keeps
  its type and its old values); ids are coerced to strings by the sources, so an id that
  turns from int into string (or back) never drifts;
- in snapshot tables (scd2) a row whose shape changed is a changed row: its old version is
  retired (`_dlt_valid_to` set) and kept, the new one is current.
"""

from __future__ import annotations

from assets.registry import OSCAR, POSIT_CONNECT
from tests.oscar.support import assert_tables_match
from tests.reliability.support import assert_posit_exact, failure_message, query, run

NEW_VISITS = 10


def column_types(table: str) -> dict[str, str]:
    rows = query(
        POSIT_CONNECT,
        "SELECT column_name, data_type FROM information_schema.columns "
        f"WHERE table_schema = '{POSIT_CONNECT.dataset_name}' AND table_name = '{table}'",
    )
    return dict(rows)


def drift_posit(sim) -> None:
    """Add a field, remove one, change the type of two (one hinted, one inferred), and turn
    integer ids into strings: on every content item, permission and on new visits."""
    with sim._data_lock:
        for item in sim.data.content:
            item["new_field"] = "added in the new server version"
            item.pop("description", None)
            if item["max_processes"] is not None:  # typed bigint by the source's hints
                item["max_processes"] = "unlimited"
        for grants in sim.data.permissions.values():
            for grant in grants:
                grant["id"] = f"perm-{grant['id']}"
        sim._content_json.clear()
        old_visits = len(sim.data.visits)
        render = sim.data.render_visit

        def render_new_shape(position: int) -> dict:
            row = render(position)
            return {**row, "data_version": "v2"} if position >= old_visits else row

        sim.data.render_visit = render_new_shape
    sim.mutate("add_visits", {"n": NEW_VISITS})
    # a redeploy makes the per-item tables request every item again, in the new shape
    sim.mutate("update_content", {"n": len(sim.data.content)})


def test_posit_fields_added_removed_and_retyped_evolve_and_keep_old_rows(posit, instance):
    assert run(POSIT_CONNECT, instance=instance).success
    before = dict(query(POSIT_CONNECT, "SELECT guid, description FROM content"))
    tuned = {g for (g,) in query(POSIT_CONNECT, "SELECT guid FROM content WHERE max_processes IS NOT NULL")}  # fmt: skip
    visits_before = query(POSIT_CONNECT, "SELECT count(*) FROM content_visits")[0][0]
    drift_posit(posit)

    result = run(POSIT_CONNECT, instance=instance)

    assert result.success, failure_message(result)
    assert_posit_exact(posit)
    for table in ("content", "content_item"):
        types = column_types(table)
        assert types["new_field"] == "VARCHAR"
        assert types["max_processes"] == "BIGINT"  # kept its type ...
        assert types["max_processes__v_text"] == "VARCHAR"  # ... the strings went beside it
        # every item changed shape: one retired version (as loaded before) and one current
        old = dict(
            query(
                POSIT_CONNECT,
                f"SELECT guid, description FROM {table} WHERE _dlt_valid_to IS NOT NULL",
            )
        )
        assert old == before, f"{table}: rows loaded before the drift changed or were lost"
        current = query(
            POSIT_CONNECT,
            f"SELECT count(*), count(description), count(new_field), "
            f"count(max_processes), count(max_processes__v_text) FROM {table} "
            f"WHERE {POSIT_CONNECT.catalog[table].load.current_filter}",
        )[0]
        assert current == (len(before), 0, len(before), 0, len(tuned))
        retired_ints = query(
            POSIT_CONNECT,
            f"SELECT count(max_processes) FROM {table} WHERE _dlt_valid_to IS NOT NULL",
        )[0][0]
        assert retired_ints == len(tuned)
    assert column_types("content_permissions")["id"] == "VARCHAR"
    assert "id__v_text" not in column_types("content_permissions")
    visits = column_types("content_visits")
    assert visits["data_version"] == "BIGINT" and visits["data_version__v_text"] == "VARCHAR"
    counts = query(
        POSIT_CONNECT,
        "SELECT count(data_version), count(data_version__v_text) FROM content_visits",
    )[0]
    assert counts == (visits_before, NEW_VISITS)


def test_oscar_api_port_int_in_v3_becomes_a_list_in_v4(simulators, instance, monkeypatch):
    """`expose.api_port` is an int on v3 servers and a list on v4 (api notes). The services
    table keeps `expose` as JSON: both shapes load, the v3 rows are kept as history."""
    from simulators.oscar import OscarSimulator

    with OscarSimulator(services=8, jobs_per_service=5, api="v3") as sim:
        simulators.append(sim)
        monkeypatch.setenv("SOURCES__OSCAR_SOURCE__BASE_URL", sim.url)
        monkeypatch.setenv("SOURCES__OSCAR_SOURCE__USERNAME", sim.username)
        monkeypatch.setenv("SOURCES__OSCAR_SOURCE__PASSWORD", sim.password)
        assert run(OSCAR, instance=instance).success
        v3_rows = query(OSCAR, "SELECT name, expose FROM services")
        sim.mutate("set_api", {"api": "v4"})

        result = run(OSCAR, instance=instance)

        assert result.success, failure_message(result)
        assert_tables_match(sim)
    kept = query(OSCAR, "SELECT name, expose FROM services WHERE _dlt_valid_to IS NOT NULL")
    exposed_v3 = {(n, e) for n, e in v3_rows if '"api_port":' in e}
    assert exposed_v3 and exposed_v3 <= set(kept)  # the int form, as loaded from v3
    current = query(OSCAR, "SELECT expose FROM services WHERE _dlt_valid_to IS NULL")
    assert any('"api_port":[' in e for (e,) in current)  # the list form from v4
