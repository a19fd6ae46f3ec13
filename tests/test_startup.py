"""What a process imports to start: each command loads only what it needs.

Checked in a fresh interpreter through ``sys.modules`` (not by timing): the Snowflake
connector and its pandas / pyarrow / boto3 cost half a second, and the local engine does
not need them (emulator/semantics.py loads fakesnow's rewrites without them).
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("snowflake.connector", "pandas", "pyarrow", "boto3", "botocore", "jinja2")


def _loaded(code: str) -> set[str]:
    """The top modules and packages of HEAVY (and the engine's) that ``code`` leaves imported."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return set(json.loads(out.splitlines()[-1]))


def _heavy(modules: set[str]) -> set[str]:
    return {m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)}


def test_the_cli_imports_neither_sql_nor_engine_libraries() -> None:
    modules = _loaded("import moviecdc.cli")
    assert not _heavy(modules)
    assert not {m for m in modules if m.split(".")[0] in {"sqlglot", "duckdb", "fakesnow", "croniter"}}


def test_the_local_engine_runs_sql_without_the_connector_pandas_or_pyarrow() -> None:
    modules = _loaded(
        "from moviecdc.warehouse.local import LocalWarehouse\n"
        "wh = LocalWarehouse(':memory:')\n"
        "assert wh.execute('select 1 as n').rows == [(1,)]\n"
        "wh.close()"
    )
    assert not _heavy(modules)
    # fakesnow's package (which imports the connector) is not left half-loaded either
    assert "fakesnow" not in modules and "moviecdc.emulator.semantics" in modules
    # only ordinary SQL ran: the CDC statement handlers and the refresh machinery were not needed
    assert not {m for m in modules if m.startswith(("moviecdc.emulator.statements", "moviecdc.emulator.ivm"))}


def test_the_real_connector_and_fakesnow_still_import_after_the_engine() -> None:
    _loaded(
        "import moviecdc.emulator.semantics as s\n"
        "import fakesnow, snowflake.connector\n"
        "assert snowflake.connector.errors.ProgrammingError and callable(snowflake.connector.connect)\n"
        "assert callable(fakesnow.patch) and callable(s.fs.upper_case_unquoted_identifiers)"
    )


def test_the_engine_after_the_connector_uses_the_ordinary_import() -> None:
    modules = _loaded(
        "import snowflake.connector\n"
        "from moviecdc.warehouse.local import LocalWarehouse\n"
        "wh = LocalWarehouse(':memory:')\n"
        "assert wh.execute('select 1 as n').rows == [(1,)]\n"
        "wh.close()"
    )
    assert "fakesnow.transforms" in modules


def test_the_metadata_columns_read_from_bootstrap_are_duckdbs() -> None:
    """Every open checks the metadata tables against the column names read from
    BOOTSTRAP's text; on a file just bootstrapped a reader finds exactly those."""
    import duckdb

    from moviecdc.emulator.catalog import BOOTSTRAP, Catalog

    con = duckdb.connect(":memory:")
    try:
        for ddl in BOOTSTRAP:
            con.execute(ddl)
        assert Catalog(con, read_only=True).check() is None  # a shorter or longer list: OLDER_FILE / foreign
        con.execute('ALTER TABLE _moviecdc.graph_history DROP COLUMN "SCHEDULER"')
        assert Catalog(con, read_only=True).check() is not None
    finally:
        con.close()
