"""Plain DDL on the local engine: CREATE / DROP / ALTER of schemas, tables and views.

Tables with ``CHANGE_TRACKING = TRUE`` (or tracked later with ALTER TABLE) move into
change-tracked storage (:mod:`moviecdc.emulator.changelog`); replacing or dropping one
makes its streams stale. Each statement runs in one transaction with the catalog rows
it writes.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

from moviecdc.dialect.idents import fold, quote, string
from moviecdc.emulator import changelog, resolver
from moviecdc.emulator.session import Session, SessionContext
from moviecdc.errors import SqlError, UnsupportedSqlError
from moviecdc.results import Rows

RETENTION_SETTINGS = ("DATA_RETENTION_TIME_IN_DAYS", "MAX_DATA_EXTENSION_TIME_IN_DAYS")
_DONE = "Statement executed successfully."


def create(session: Session, expr: exp.Create, text: str, params: Sequence[object] | None) -> Rows:
    kind = (expr.args.get("kind") or "").upper()
    if kind == "DATABASE":
        db = expr.this
        name = fold(db.this if isinstance(db, exp.Table) else db) or session.ctx.database
        if name in session.databases and not (expr.args.get("exists") or expr.args.get("replace")):
            raise SqlError(f"SQL compilation error: Object '{name}' already exists.", statement=text)
        session.databases.add(name)
        session.ctx = SessionContext(name, "PUBLIC")
        session.ensure_schema("PUBLIC")
        return Rows(message=f"Database {name} successfully created.")
    if kind == "SCHEMA":
        table = expr.this
        schema = fold(table.args.get("db") or table.this)
        assert schema is not None
        with session.transaction():
            if expr.args.get("replace"):
                raise UnsupportedSqlError(
                    "CREATE OR REPLACE SCHEMA is not supported by the local engine",
                    statement=text,
                )
            session.ensure_schema(schema)
        db = table.args.get("catalog") if table.args.get("db") else None
        session.ctx = SessionContext(fold(db) or session.ctx.database, schema)
        return Rows(message=f"Schema {schema} successfully created.")
    if kind != "TABLE":
        with session.transaction():
            sql, bound, _ = resolver.translate(session, expr, params, clock=kind == "VIEW")
            session.con.execute(sql, bound or None)
        made = expr.this.this if isinstance(expr.this, exp.Schema) else expr.this
        made_name = fold(made.this) if isinstance(made, exp.Table) else None
        if kind in {"VIEW", "SEQUENCE"} and made_name:
            return Rows(message=f"{kind.title()} {made_name} successfully created.")
        return Rows(message=_DONE)
    target = expr.this.this if isinstance(expr.this, exp.Schema) else expr.this
    key = session.resolve(target)
    tracking = _pop_change_tracking(expr)
    if is_temporary(expr):
        if tracking:
            raise UnsupportedSqlError("CHANGE_TRACKING on a temporary table is not supported by the local engine")
        temp_name = fold(target.this)
        assert temp_name is not None
        with session.transaction():
            session.temp_tables.add(temp_name)  # before translating: its name is not qualified
            sql, bound, ctx = resolver.translate(session, expr, params, clock=expr.expression is not None)
            session.con.execute(sql, bound or None)
            resolver.consume(session, ctx)  # CREATE ... AS SELECT from a stream consumes it (so does a MERGE)
        return Rows(message=f"Table {temp_name} successfully created.")
    with session.transaction():
        if key in session.catalog.dynamic_tables or key in session.catalog.tracked:
            if expr.args.get("exists"):
                return Rows(message=f"{key[1]} already exists, statement succeeded.")
            if not expr.args.get("replace") or key in session.catalog.dynamic_tables:
                raise SqlError(f"Object '{key[1]}' already exists.", statement=text)
            changelog.untrack(session, key, reason="the table was replaced")
        existed = session.table_exists(key)
        if expr.expression is not None and isinstance(expr.this, exp.Schema):
            expr = _typed_ctas(session, expr, params, text)
        sql, bound, ctx = resolver.translate(session, expr, params, clock=expr.expression is not None)
        session.con.execute(sql, bound or None)
        if not existed or expr.args.get("replace") or expr.expression is not None:
            version = session.next_version()
            session.catalog.set_version(key, version, session.now())
            resolver.consume(session, ctx)
        if tracking:
            changelog.track(session, key)
    return Rows(message=f"Table {key[1]} successfully created.")


def _typed_ctas(session: Session, expr: exp.Create, params: Sequence[object] | None, text: str) -> exp.Create:
    """``CREATE TABLE t (a INT, b VARCHAR) AS SELECT ...``: the query's columns, by
    position, cast to the listed types and named by the list (DuckDB takes no list)."""
    schema = expr.this
    assert isinstance(schema, exp.Schema)
    defs = [d for d in schema.expressions if isinstance(d, exp.ColumnDef)]
    if not defs or all(d.args.get("kind") is None for d in defs):
        return expr  # names only: sqlglot renders that as DuckDB's column aliases
    query = expr.expression
    sql, bound, _ = resolver.translate(session, query, params)
    width = len(session.con.execute(f"SELECT * FROM ({sql}) LIMIT 0", bound or None).description or [])
    if width != len(defs):
        raise SqlError(
            "SQL compilation error: Invalid column definition list", statement=text, errno=2026, sqlstate="42601"
        )
    inner = [f"_mc_c{i}" for i in range(width)]
    select = exp.select(
        *(
            exp.alias_(exp.cast(exp.column(c), d.args["kind"]) if d.args.get("kind") else exp.column(c), d.this)
            for c, d in zip(inner, defs, strict=True)
        )
    ).from_(exp.Subquery(this=query.copy(), alias=_alias("_mc_ctas", inner)))
    out = expr.copy()
    out.set("this", schema.this)
    out.set("expression", select)
    return out


def _alias(name: str, columns: list[str]) -> exp.TableAlias:
    return exp.TableAlias(this=exp.to_identifier(name), columns=[exp.to_identifier(c) for c in columns])


def is_temporary(expr: exp.Create) -> bool:
    """CREATE TEMPORARY (TEMP, LOCAL TEMPORARY, VOLATILE) TABLE."""
    props = expr.args.get("properties")
    return props is not None and any(
        isinstance(p, exp.TemporaryProperty | exp.VolatileProperty) for p in props.expressions
    )


def set_comments(
    session: Session, table: exp.Table, comment: str | None, columns: Sequence[tuple[str, str]], text: str
) -> None:
    """COMMENT = '...' on CREATE / ALTER, COMMENT ON TABLE and ALTER COLUMN ... COMMENT: kept
    as DuckDB comments, which INFORMATION_SCHEMA, SHOW and DESCRIBE read."""
    key = session.resolve(table)
    if key[1] in session.temp_tables and fold(table.args.get("db")) in (None, session.ctx.schema):
        kind, fq = "TABLE", quote(key[1])  # a temporary table: unqualified, in DuckDB's temp catalog
    else:
        row = session.con.execute(
            "SELECT count(*) FROM duckdb_views() WHERE database_name = current_database()"
            " AND upper(schema_name) = upper(?) AND upper(view_name) = upper(?)",
            list(key),
        ).fetchone()
        kind, fq = ("VIEW" if row and row[0] else "TABLE"), session.fq(key)
        if kind == "TABLE" and not session.table_exists(key):
            if table.root().args.get("exists"):
                return  # COMMENT IF EXISTS ON TABLE of a missing table
            raise SqlError(f"Table '{key[1]}' does not exist or not authorized.", statement=text)
    if comment is not None:
        session.con.execute(f"COMMENT ON {kind} {fq} IS {string(comment)}")
    for column, note in columns:
        session.con.execute(f"COMMENT ON COLUMN {fq}.{quote(fold(column) or column)} IS {string(note)}")


def drop(session: Session, expr: exp.Drop, text: str) -> Rows:
    kind = (expr.args.get("kind") or "").upper()
    if kind == "SCHEMA":
        target = (expr.args.get("tables") or [expr.this])[0]
        schema = fold(target.args.get("db") or target.this)
        with session.transaction():
            sql, bound, _ = resolver.translate(session, expr, None, clock=False)
            session.con.execute(sql, bound or None)
            for store, k in (
                (session.catalog.tracked, "TRACKED"),
                (session.catalog.streams, "STREAM"),
                (session.catalog.tasks, "TASK"),
                (session.catalog.dynamic_tables, "DYNAMIC TABLE"),
            ):
                for key in [key for key in store if key[0] == schema]:
                    if k == "TRACKED":
                        changelog.untrack(session, key, reason="its schema was dropped")
                    else:
                        session.catalog.delete(k, key)
        session.forget_schemas()
        return Rows(message=f"{schema} successfully dropped.")
    if kind != "TABLE":
        gone = (expr.args.get("tables") or [expr.this])[0]
        known = kind in {"VIEW", "SEQUENCE"} and isinstance(gone, exp.Table)
        existed = known and _exists(session, kind, session.resolve(gone))
        with session.transaction():
            sql, bound, _ = resolver.translate(session, expr, None, clock=False)
            session.con.execute(sql, bound or None)
        if known:
            return _dropped(fold(gone.this) or "", existed)
        return Rows(message=_DONE)
    tables = expr.args.get("tables") or [expr.this]
    if len(tables) != 1:
        raise UnsupportedSqlError("drop one table per statement", statement=text)
    key = session.resolve(tables[0])
    if key[1] in session.temp_tables and fold(tables[0].args.get("db")) in (None, session.ctx.schema):
        with session.transaction():
            session.con.execute(resolver.translate(session, expr, None, clock=False)[0])
        session.temp_tables.discard(key[1])
        return Rows(message=f"{key[1]} successfully dropped.")
    if key in session.catalog.dynamic_tables:
        raise SqlError(f"'{key[1]}' is a dynamic table; use DROP DYNAMIC TABLE", statement=text)
    existed = key in session.catalog.tracked or session.table_exists(key)
    with session.transaction():
        if key in session.catalog.tracked:
            changelog.untrack(session, key, reason="its source table was dropped")
        else:
            sql, bound, _ = resolver.translate(session, expr, None, clock=False)
            session.con.execute(sql, bound or None)
        session.catalog.drop_version(key)
    return _dropped(key[1], existed)


def _dropped(name: str, existed: bool) -> Rows:
    """Snowflake's answer to DROP: what it dropped, or (IF EXISTS) that it was already gone."""
    if existed:
        return Rows(message=f"{name} successfully dropped.")
    return Rows(message=f"Drop statement executed successfully ({name} already dropped).")


def _exists(session: Session, kind: str, key: tuple[str, str]) -> bool:
    catalog = "duckdb_views() WHERE NOT internal AND" if kind == "VIEW" else "duckdb_sequences() WHERE"
    column = "view_name" if kind == "VIEW" else "sequence_name"
    row = session.con.execute(
        f"SELECT count(*) FROM {catalog} lower(schema_name) = lower(?) AND lower({column}) = lower(?)"
        " AND database_name = current_database()",
        list(key),
    ).fetchone()
    return bool(row and row[0])


def alter(session: Session, expr: exp.Alter, text: str) -> Rows:
    key = session.resolve(expr.this)
    kind = (expr.args.get("kind") or "").upper()
    if kind == "TABLE" and key in session.catalog.dynamic_tables:
        raise SqlError(f"'{key[1]}' is a dynamic table; use ALTER DYNAMIC TABLE", statement=text)
    tracking = None
    retention: dict[str, str] = {}
    others = False
    for action in expr.args.get("actions") or []:
        props = list(action.find_all(exp.Property)) if isinstance(action, exp.AlterSet) else []
        others = others or not props
        for prop in props:
            name = prop.name.upper()
            if name == "CHANGE_TRACKING":
                tracking = prop.args["value"].sql().upper() == "TRUE"
            elif name in RETENTION_SETTINGS:
                retention[name] = prop.args["value"].sql()
            else:
                others = True
    if (tracking is not None or retention) and not others:
        with session.transaction():
            for name, value in retention.items():
                if not value.isdigit() or int(value) > 90:
                    raise SqlError(f"invalid value {value} for {name}: a whole number of days, 0 to 90")
                session.catalog.set_meta(f"{name}.{key[0]}.{key[1]}", value)
            if tracking and key not in session.catalog.tracked:
                changelog.track(session, key)
            elif tracking is False and key in session.catalog.tracked:
                raise UnsupportedSqlError(
                    "turning change tracking off is not supported by the local engine",
                    statement=text,
                )
        return Rows(message=_DONE)
    if key in session.catalog.tracked:
        raise UnsupportedSqlError(
            f"ALTER on the change-tracked table {key[1]} is not supported by the local engine"
            " (drop and recreate it, and its streams, instead)",
            statement=text,
        )
    with session.transaction():
        sql, bound, _ = resolver.translate(session, expr, None, clock=False)
        session.con.execute(sql, bound or None)
        version = session.next_version()
        session.catalog.set_version(key, version, session.now())
    return Rows(message=_DONE)


def _pop_change_tracking(expr: exp.Create) -> bool:
    props = expr.args.get("properties")
    if props is None:
        return False
    found = False
    for prop in list(props.expressions):
        if isinstance(prop, exp.Property) and prop.name.upper() == "CHANGE_TRACKING":
            found = prop.args["value"].sql().upper() == "TRUE"
            props.expressions.remove(prop)
    return found
