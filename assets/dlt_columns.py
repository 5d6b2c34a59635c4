"""What dlt's own bookkeeping columns mean, described once for every table of both sources.

Texts from dlt's documentation (destination tables, nested tables, the scd2 merge strategy)
as this project uses them: snapshot and fan-out tables keep row versions with scd2, and
lists in a row become child tables `<table>__<field>` linked by `_dlt_parent_id`.
"""

DLT_COLUMN_DESCRIPTIONS: dict[str, str] = {
    "_dlt_id": (
        "dlt's unique id of this row (of this version of it); a child table's _dlt_parent_id "
        "points to it."
    ),
    "_dlt_load_id": (
        "The load that wrote this row: joins _dlt_loads.load_id, whose inserted_at says when. "
        "May be NULL on child-table rows."
    ),
    "_dlt_valid_from": "When this version of the row became current (UTC): its first load.",
    "_dlt_valid_to": (
        "When this version stopped being current (UTC): changed or gone from the server. NULL "
        "means it is the current version."
    ),
    "_dlt_parent_id": "The _dlt_id of the row in the parent table this child row belongs to.",
    "_dlt_list_idx": "Position of this item (from 0) in the parent row's list.",
    "_dlt_root_id": "The _dlt_id of the top-level row this nested row belongs to, at any depth.",
    "row_hash": (
        "The version of this row: a hash of its values and its child-table rows, the value "
        "dlt's scd2 merge compares to tell a changed row (a new version) from an unchanged "
        "one. Also its _dlt_id. NULL on versions retired before the column existed."
    ),
}
