"""Change sets of a view's query (pure: a sqlglot tree of DuckDB SQL in, DuckDB SQL out).

A stream on a view (or ``CHANGES`` on one) returns the net difference between the view's
rows at two versions. The view's rows at a version are its query over each base table's
rows at that version (:func:`moviecdc.emulator.streams.rows_at_sql`); each row carries
an id made from the ids of the base rows it was built from (``_mc_rid``), and in the
newer state a flag saying whether any of those base rows changed in between (``_mc_t``).
Rows by id in one state only are a DELETE or an INSERT; rows in both whose base rows
changed are an update pair, as for a table (reference 1.3).

Only queries Snowflake can track are accepted: projections, filters, inner and cross
joins and UNION ALL (:func:`check`).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from moviecdc.dialect.idents import quote
from moviecdc.errors import SqlError, UnsupportedSqlError

RID, TOUCHED = "_mc_rid", "_mc_t"
META = ('"METADATA$ACTION"', '"METADATA$ISUPDATE"', '"METADATA$ROW_ID"')

# a table of the query -> DuckDB SQL of its rows: its columns, then _mc_rid and _mc_t
SourceSql = Callable[[exp.Table], str]


def _refuse(view: str, construct: str) -> SqlError:
    return SqlError(
        f"SQL compilation error: Change tracking is not supported on queries with {construct}"
        f" (the query of view {view})."
    )


def _unsupported(view: str, construct: str) -> UnsupportedSqlError:
    return UnsupportedSqlError(f"streams on views with {construct} are not supported by the local engine (view {view})")


def check(query: exp.Expr, view: str) -> None:
    """Refuse a view query Snowflake cannot track, or the engine cannot.

    Raises:
        SqlError: GROUP BY, aggregates, DISTINCT, QUALIFY, LIMIT, outer joins (NATURAL
            or not), UNION without ALL, INTERSECT / EXCEPT, subqueries outside FROM
            (Snowflake's limits: projections, filters, inner or cross joins, UNION ALL).
        UnsupportedSqlError: WITH, window functions, LATERAL / table functions, VALUES,
            joins such as ASOF or POSITIONAL.
    """
    if query.find(exp.With) is not None:
        raise _unsupported(view, "WITH (common table expressions)")
    for node in query.walk():
        if isinstance(node, exp.Union) and node.args.get("distinct"):
            raise _refuse(view, "UNION (without ALL)")
        if isinstance(node, exp.Intersect | exp.Except):
            raise _refuse(view, node.key.upper())
        if isinstance(node, exp.Select):
            _check_select(node, view)
        if isinstance(node, exp.Window):
            raise _unsupported(view, "window functions")
        if isinstance(node, exp.AggFunc):
            raise _refuse(view, "aggregate functions")
        if isinstance(node, exp.Lateral | exp.Unnest | exp.TableFromRows | exp.Values):
            raise _unsupported(view, "LATERAL, table functions or VALUES")
        if isinstance(node, exp.Join):
            _check_join(node, view)


def _check_join(join: exp.Join, view: str) -> None:
    """Inner and cross joins, with ON, USING or NATURAL (DuckDB matches a NATURAL join's
    columns on the sources the state SQL reads, whose hidden columns are numbered apart)."""
    side, kind = (join.args.get("side") or "").upper(), (join.args.get("kind") or "").upper()
    method = str(join.args.get("method") or "").upper()
    if method not in ("", "NATURAL"):
        raise _unsupported(view, f"{method} JOIN")
    if side or kind not in ("", "INNER", "CROSS"):
        raise _refuse(view, " ".join(w for w in (method, side, kind, "JOIN") if w))


def _check_select(sel: exp.Select, view: str) -> None:
    for arg, construct in (
        ("group", "GROUP BY"),
        ("having", "HAVING"),
        ("distinct", "DISTINCT"),
        ("qualify", "QUALIFY"),
        ("limit", "LIMIT"),
        ("offset", "OFFSET"),
        ("fetch", "FETCH"),
    ):
        if sel.args.get(arg) is not None:
            raise _refuse(view, construct)
    parent = sel.parent
    while isinstance(parent, exp.Subquery):
        parent = parent.parent
    if parent is not None and not isinstance(parent, exp.Union | exp.From | exp.Join):
        raise _refuse(view, "subqueries outside the FROM clause")
    if sel.args.get("from_") is None:
        raise _refuse(view, "no table in FROM")


def state_sql(query: exp.Expr, columns: list[str], source: SourceSql) -> str:
    """The view's rows in one state: its ``columns``, then ``_mc_rid`` and ``_mc_t``.

    ``query`` (checked) is left as it is; ``source`` gives each base table's rows in the
    state wanted."""
    ctes: list[tuple[str, str]] = []
    body = _process(query.copy(), ctes, source, "")
    names = ", ".join(quote(c) for c in [*columns, RID, TOUCHED])
    with_ = ", ".join(f"{name} AS ({sql})" for name, sql in ctes)
    return f"SELECT * FROM (WITH {with_} {body.sql(dialect='duckdb')}) AS _mc_q({names})"


def _process(query: exp.Expr, ctes: list[tuple[str, str]], source: SourceSql, tag: str) -> exp.Expr:
    if isinstance(query, exp.Subquery):
        query.set("this", _process(query.this, ctes, source, tag))
        return query
    if isinstance(query, exp.Union):
        query.set("this", _process(query.this, ctes, source, tag + "1"))
        query.set("expression", _process(query.expression, ctes, source, tag + "2"))
        return query
    assert isinstance(query, exp.Select)
    scope: list[tuple[int, str]] = []  # (CTE number, the name the query knows the source by)
    from_ = query.args["from_"]
    _visit(from_.this, ctes, source, scope, tag)
    for join in query.args.get("joins") or []:
        _visit(join.this, ctes, source, scope, tag)
    for item in query.expressions:
        star = item if isinstance(item, exp.Star) else item.this if isinstance(item, exp.Column) else None
        if not isinstance(star, exp.Star):
            continue
        table = item.table.upper() if isinstance(item, exp.Column) else None
        hidden = [exp.column(f"{c}_{k}") for k, name in scope if table in (None, name.upper()) for c in (RID, TOUCHED)]
        star.set("except_", [*(star.args.get("except_") or []), *hidden])
    ids = [f"{RID}_{k}" for k, _ in scope]
    # one table read once: its row ids; else a hash of the branch and the rows' ids
    hashed = f"substr(sha256(concat_ws('|', '{tag}', {', '.join(ids)})), 1, 40)"
    rid = ids[0] if len(ids) == 1 and not tag else hashed
    touched = " OR ".join(f"{TOUCHED}_{k}" for k, _ in scope)
    query.select(f"{rid} AS {RID}", f"({touched}) AS {TOUCHED}", dialect="duckdb", copy=False)
    return query


def _visit(
    node: exp.Expr, ctes: list[tuple[str, str]], source: SourceSql, scope: list[tuple[int, str]], tag: str
) -> None:
    """Point one FROM / JOIN source of a query at a CTE of its rows, with numbered id columns."""
    joins = list(node.args.get("joins") or [])
    if isinstance(node, exp.Subquery) and isinstance(node.this, exp.Table | exp.Subquery) and not node.alias:
        _visit(node.this, ctes, source, scope, tag)  # parentheses around joins
    elif isinstance(node, exp.Table | exp.Subquery):
        k = len(ctes) + 1
        if isinstance(node, exp.Table):
            inner, name = source(node), node.alias_or_name
        else:
            processed = _process(node.this, ctes, source, f"{tag}d{k}")
            inner, name = processed.sql(dialect="duckdb"), node.alias
        k = len(ctes) + 1
        ctes.append(
            (
                f"_mc_s{k}",
                f"SELECT * EXCLUDE ({RID}, {TOUCHED}), {RID} AS {RID}_{k}, {TOUCHED} AS {TOUCHED}_{k} FROM ({inner})",
            )
        )
        old = node.args.get("alias")
        alias = exp.TableAlias(this=exp.to_identifier(name, quoted=True))
        if isinstance(old, exp.TableAlias) and old.columns:
            alias.set("columns", [*old.columns, exp.to_identifier(f"{RID}_{k}"), exp.to_identifier(f"{TOUCHED}_{k}")])
        table = exp.Table(this=exp.to_identifier(f"_mc_s{k}"), alias=alias)
        if joins:
            table.set("joins", joins)
        node.replace(table)
        scope.append((k, name))
    else:
        raise UnsupportedSqlError(f"streams on views reading {node.key.upper()} are not supported by the local engine")
    for join in joins:
        _visit(join.this, ctes, source, scope, tag)


def diff_sql(old: str, new: str, columns: list[str]) -> str:
    """The standard change set from state ``old`` to ``new`` (both from :func:`state_sql`)."""
    o = ", ".join(f"o.{quote(c)}" for c in columns)
    n = ", ".join(f"n.{quote(c)}" for c in columns)
    return (
        f"WITH o AS ({old}), n AS ({new})"
        f" SELECT {o}, 'DELETE' AS {META[0]}, n.{RID} IS NOT NULL AS {META[1]}, o.{RID} AS {META[2]}"
        f" FROM o LEFT JOIN n ON n.{RID} = o.{RID} WHERE n.{RID} IS NULL OR n.{TOUCHED}"
        f" UNION ALL SELECT {n}, 'INSERT' AS {META[0]}, o.{RID} IS NOT NULL AS {META[1]}, n.{RID} AS {META[2]}"
        f" FROM n LEFT JOIN o ON o.{RID} = n.{RID} WHERE o.{RID} IS NULL OR n.{TOUCHED}"
    )


def appended_sql(old: str, new: str, columns: list[str]) -> str:
    """The append-only change set: the rows of ``new`` (the view over the rows at the
    offset and the rows inserted since) that ``old`` lacks, as INSERTs."""
    n = ", ".join(f"n.{quote(c)}" for c in columns)
    return (
        f"WITH o AS ({old}), n AS ({new})"
        f" SELECT {n}, 'INSERT' AS {META[0]}, FALSE AS {META[1]}, n.{RID} AS {META[2]}"
        f" FROM n WHERE n.{RID} NOT IN (SELECT {RID} FROM o)"
    )
