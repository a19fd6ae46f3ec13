"""Plain DDL on the local engine: CREATE / DROP / ALTER of schemas, tables and views.

Tables with ``CHANGE_TRACKING = TRUE`` (or tracked later with ALTER TABLE) move into
change-tracked storage (:mod:`moviecdc.emulator.changelog`); replacing or dropping one
makes its streams stale. Each statement runs in one transaction with the catalog rows
it writes.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

from moviecdc.dialect.idents import fold
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
        target = expr.this.this if isinstance(expr.this, exp.Schema) else expr.this
        name = fold(target.this) if isinstance(target, exp.Table) else None
        if kind in {"VIEW", "SEQUENCE", "FUNCTION", "MACRO"} and name:
            return Rows(message=f"{kind.title()} {name} successfully created.")
        return Rows(message=_DONE)
    target = expr.this.this if isinstance(expr.this, exp.Schema) else expr.this
    key = session.resolve(target)
    tracking = _pop_change_tracking(expr)
    if is_temporary(expr):
        if tracking:
            raise UnsupportedSqlError("CHANGE_TRACKING on a temporary table is not supported by the local engine")
        name = fold(target.this)
        assert name is not None
        with session.transaction():
            session.temp_tables.add(name)  # before translating: its name is not qualified
            sql, bound, _ = resolver.translate(session, expr, params, clock=expr.expression is not None)
            session.con.execute(sql, bound or None)
        return Rows(message=f"Table {name} successfully created.")
    with session.transaction():
        if key in session.catalog.dynamic_tables or key in session.catalog.tracked:
            if expr.args.get("exists"):
                return Rows(message=f"{key[1]} already exists, statement succeeded.")
            if not expr.args.get("replace") or key in session.catalog.dynamic_tables:
                raise SqlError(f"Object '{key[1]}' already exists.", statement=text)
            changelog.untrack(session, key, reason="the table was replaced")
        existed = session.table_exists(key)
        sql, bound, ctx = resolver.translate(session, expr, params, clock=expr.expression is not None)
        session.con.execute(sql, bound or None)
        if not existed or expr.args.get("replace") or expr.expression is not None:
            version = session.next_version()
            session.catalog.set_version(key, version, session.now())
            resolver.consume(session, ctx)
        if tracking:
            changelog.track(session, key)
    return Rows(message=f"Table {key[1]} successfully created.")


def is_temporary(expr: exp.Create) -> bool:
    """CREATE TEMPORARY (TEMP, LOCAL TEMPORARY, VOLATILE) TABLE."""
    props = expr.args.get("properties")
    return props is not None and any(
        isinstance(p, exp.TemporaryProperty | exp.VolatileProperty) for p in props.expressions
    )


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
        return Rows(message=f"{schema} successfully dropped.")
    if kind != "TABLE":
        with session.transaction():
            sql, bound, _ = resolver.translate(session, expr, None, clock=False)
            session.con.execute(sql, bound or None)
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
    with session.transaction():
        if key in session.catalog.tracked:
            changelog.untrack(session, key, reason="its source table was dropped")
        else:
            sql, bound, _ = resolver.translate(session, expr, None, clock=False)
            session.con.execute(sql, bound or None)
        session.catalog.drop_version(key)
    return Rows(message=f"{key[1]} successfully dropped.")


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
