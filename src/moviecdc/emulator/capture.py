"""DML capture: INSERT, UPDATE, DELETE and TRUNCATE on a change-tracked table, run on its
storage with the before- and after-images logged (reference 1.3).

An INSERT logs the row ids it added; a DELETE logs what it returned; an UPDATE is run
as a DELETE ... RETURNING of the before-images and an INSERT of the new images under
the same row ids when it cannot see its own effect, and otherwise as the UPDATE itself
after a copy of the before-images. Either way the log gets one update pair per row.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlglot
from sqlglot import exp

from moviecdc.dialect.idents import quote
from moviecdc.emulator import changelog, resolver
from moviecdc.emulator import translate as tr
from moviecdc.emulator.catalog import TrackedTable
from moviecdc.emulator.session import Session
from moviecdc.errors import SqlError, UnsupportedSqlError


def dml_target(expr: exp.Expr) -> exp.Table:
    """The table a DML statement writes."""
    table = expr.expressions[0] if isinstance(expr, exp.TruncateTable) else expr.this
    if isinstance(table, exp.Schema):
        table = table.this
    if not isinstance(table, exp.Table):
        raise SqlError("cannot determine the target table of this statement")
    return table


def captured_dml(
    session: Session,
    expr: exp.Expr,
    tt: TrackedTable,
    version: int,
    params: Sequence[object] | None,
    text: str,
) -> tuple[int, tr.Context]:
    """Run DML on a tracked table, logging before/after row images (reference 1.3)."""
    changelog.record_version_time(session, version)
    target = dml_target(expr)
    alias = target.alias_or_name
    phys = exp.to_table(tt.phys, dialect="duckdb")
    aliased = phys.copy()
    aliased.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
    star = exp.Returning(expressions=[exp.Star()])
    if isinstance(expr, exp.TruncateTable):
        expr = exp.Delete(this=aliased)
    if isinstance(expr, exp.Merge):  # a MERGE arrives as its parts (semantics.explode); never whole
        raise UnsupportedSqlError("a MERGE the local engine could not split into its parts", statement=text)
    if isinstance(expr, exp.Insert):
        if isinstance(expr.this, exp.Schema):
            expr.this.set("this", phys)
        else:
            cols = [exp.to_identifier(c, quoted=True) for c in tt.insert_columns]
            expr.set("this", exp.Schema(this=phys, expressions=cols))
        sql, bound, ctx = resolver.translate(session, expr, params)
        return changelog.insert_logged(session, tt, version, sql, bound, []), ctx
    if isinstance(expr, exp.Delete):
        expr.set("this", aliased)
        expr.set("returning", star)
        sql, bound, ctx = resolver.translate(session, expr, params)
        return changelog.log_returned(session, tt, version, _run(session, sql, bound)), ctx
    assert isinstance(expr, exp.Update)
    fast = _update_by_delete_insert(session, expr, tt, version, params, alias, aliased)
    if fast is not None:
        return fast
    expr.set("this", aliased)
    # the before-images: same target, FROM and WHERE as the UPDATE
    before = exp.select(exp.Column(this=exp.Star(), table=exp.to_identifier(alias)))
    before = before.from_(aliased.copy())
    from_ = expr.args.get("from_") or expr.args.get("from")
    if from_ is not None:
        before = before.join(from_.this.copy(), join_type="cross")
        for j in from_.args.get("joins") or []:
            before = before.join(j.copy())
    if expr.args.get("where") is not None:
        before = before.where(expr.args["where"].this.copy())
    before_sql = f"SELECT DISTINCT ON (_row_id) * FROM ({before.sql(dialect='duckdb')})"
    ctx = resolver.context(session)
    rules = (*tr.RULES, tr.qualify(expr))
    before_expr = tr.apply_rules(sqlglot.parse_one(before_sql, read="duckdb"), ctx, rules)
    bsql, bbound = tr.render(before_expr, ctx, params)
    expr = tr.apply_rules(expr, ctx, rules)
    usql, ubound = tr.render(expr, ctx, params)
    tmp = f'"_mcdc_before_{uuid.uuid4().hex}"'
    _run(session, f"CREATE TEMP TABLE {tmp} AS {bsql}", bbound)
    try:
        changelog.log_update(session, tt, version, tmp)
        row = _run(session, usql, ubound).fetchone()
    finally:
        session.con.execute(f"DROP TABLE IF EXISTS {tmp}")
    return (int(row[0]) if row else 0), ctx


def _update_by_delete_insert(
    session: Session,
    expr: exp.Update,
    tt: TrackedTable,
    version: int,
    params: Sequence[object] | None,
    alias: str,
    aliased: exp.Table,
) -> tuple[int, tr.Context] | None:
    """UPDATE as one DELETE ... RETURNING (the before-images, in one pass) and an
    INSERT of the new images under the same row ids.

    Used when the statement cannot see its own effect: no subquery, at most one
    FROM source, only plain columns assigned. Returns None to fall back to the
    general path otherwise.
    """
    from_ = expr.args.get("from_") or expr.args.get("from")
    if expr.find(exp.Subquery, exp.Exists) is not None or (from_ is not None and from_.args.get("joins")):
        return None
    assigned: dict[str, exp.Expr] = {}
    for eq in expr.expressions:
        if not isinstance(eq, exp.EQ) or not isinstance(eq.this, exp.Column):
            return None
        name = next((c for c in tt.insert_columns if c.upper() == eq.this.name.upper()), None)
        if name is None:
            return None
        assigned[name] = eq.expression
    ctx = resolver.context(session)
    rules = (*tr.RULES, tr.qualify(expr))
    where = expr.args.get("where")
    delete = exp.Delete(this=aliased.copy(), returning=exp.Returning(expressions=[exp.Star()]))
    source_of: exp.Expr | None = from_.this if from_ is not None else None
    staged: str | None = None
    if source_of is not None and not isinstance(source_of, exp.Table):
        # a VALUES list or subquery is rendered and evaluated once, not once per statement
        staged = f"__mcdc_src_{uuid.uuid4().hex}"
        name = source_of.alias_or_name
        # moved, not copied: the UPDATE is not used again once it gets here
        stage = exp.select("*").from_(source_of, copy=False)
        ssql, sbound = tr.render(tr.apply_rules(stage, ctx, rules), ctx, params, keep=False)
        _run(session, f'CREATE TEMP TABLE "{staged}" AS {ssql}', sbound)
        source_of = exp.Table(this=exp.to_identifier(staged), alias=exp.TableAlias(this=exp.to_identifier(name)))
    if source_of is not None:
        delete.set("using", [source_of.copy()])
    condition = where.this.copy() if where is not None and source_of is not None else None
    if where is not None:
        delete.set("where", where)
    dsql, dbound = tr.render(tr.apply_rules(delete, ctx, rules), ctx, params, keep=False)
    ret = f"__mcdc_ret_{uuid.uuid4().hex}"
    source = exp.Table(this=exp.to_identifier(ret), alias=exp.TableAlias(this=exp.to_identifier(alias)))
    picks = [exp.column("_row_id", table=alias)] + [
        exp.alias_(assigned[c].copy() if c in assigned else exp.column(c, table=alias, quoted=True), c, quoted=True)
        for c in tt.insert_columns
    ]
    new_rows = exp.select(*picks).from_(source)
    if source_of is not None:
        # the condition pairs each returned row with its source row; without a source,
        # every returned row matched it already
        new_rows = new_rows.join(source_of, join_type="cross", copy=False)
        if condition is not None:
            new_rows = new_rows.where(condition, copy=False)
    isql, ibound = tr.render(tr.apply_rules(new_rows, ctx, rules), ctx, params, keep=False)
    try:
        table = changelog.returned_rows(_run(session, dsql, dbound))
        if table is None or table.num_rows == 0:
            return 0, ctx
        return _reinsert(session, tt, version, table, ret, isql, ibound), ctx
    finally:
        if staged is not None:
            session.con.execute(f'DROP TABLE IF EXISTS "{staged}"')


def _reinsert(
    session: Session, tt: TrackedTable, version: int, table: Any, ret: str, isql: str, ibound: Sequence[object]
) -> int:
    """Log the update pairs for the deleted rows ``table`` and insert their new images."""
    session.con.register(ret, table)
    try:
        changelog.log_update(session, tt, version, ret)
        cols = ", ".join(quote(c) for c in ["_row_id", *tt.insert_columns])
        _run(session, f"INSERT INTO {tt.phys} ({cols}) SELECT DISTINCT ON (_row_id) * FROM ({isql})", ibound)
    finally:
        session.con.unregister(ret)
    return int(table.num_rows)


def _run(session: Session, sql: str, params: Sequence[object] | None = None) -> Any:
    return session.con.execute(sql, list(params) if params else None)
