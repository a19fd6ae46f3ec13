"""Parse the Snowflake statements sqlglot cannot: streams, tasks, dynamic tables.

sqlglot parses ``CREATE STREAM``, ``CREATE TASK``, ``ALTER TASK``, ``EXECUTE TASK``,
``ALTER DYNAMIC TABLE`` and the ``SHOW`` family only as raw commands, so the local
engine parses them here, into frozen dataclasses, from sqlglot's tokens. Bodies
(a task's ``AS`` statement, a dynamic table's query, a ``WHEN`` condition) are kept
as the user's original text, sliced by token offsets. Grammar: reference sections
1.8 (streams), 2.1 and 2.5 (tasks), 3.1 and 3.6 (dynamic tables), 1.9/2.8/3.9 (SHOW).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlglot.tokens import Token, TokenType

from moviecdc.dialect.idents import quote
from moviecdc.dialect.split import tokenize
from moviecdc.errors import SqlError, UnsupportedSqlError

_PLAIN = re.compile(r"[A-Z_][A-Z0-9_$]*")  # a part that reads the same unquoted


@dataclass(frozen=True)
class Name:
    """A possibly qualified object name; parts are Snowflake-normalised.

    Unquoted identifiers fold to upper case, quoted ones keep their case.
    """

    parts: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.parts[-1]

    @property
    def schema(self) -> str | None:
        return self.parts[-2] if len(self.parts) >= 2 else None

    @property
    def database(self) -> str | None:
        return self.parts[-3] if len(self.parts) >= 3 else None

    def __str__(self) -> str:
        return ".".join(self.parts)

    def sql(self) -> str:
        """The name as SQL that resolves to the same object: a part that unquoted would
        fold to something else (lower case, spaces, ...) is double-quoted."""
        return ".".join(p if _PLAIN.fullmatch(p) else quote(p) for p in self.parts)


@dataclass(frozen=True)
class AlterStream:
    """ALTER STREAM ... SET COMMENT = '...' / UNSET COMMENT; SET / UNSET TAG: accepted, not kept."""

    name: Name
    if_exists: bool = False
    comment: str | None = None
    unset_comment: bool = False


@dataclass(frozen=True)
class CreateStream:
    name: Name
    source: Name
    source_kind: str  # TABLE | VIEW | DYNAMIC TABLE | STREAM (a clone)
    or_replace: bool = False
    or_alter: bool = False
    if_not_exists: bool = False
    append_only: bool = False
    show_initial_rows: bool = False
    at_stream: Name | None = None  # AT (STREAM => 'name'): keep that stream's offset
    comment: str | None = None
    clone: bool = False  # CREATE STREAM ... CLONE <source>: source is the stream cloned (kind STREAM)


@dataclass(frozen=True)
class CreateTask:
    name: Name
    body: str
    or_replace: bool = False
    or_alter: bool = False
    if_not_exists: bool = False
    warehouse: str | None = None
    schedule: str | None = None
    when: str | None = None
    after: tuple[Name, ...] = ()
    comment: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    clone: Name | None = None  # CREATE TASK ... CLONE <task>


@dataclass(frozen=True)
class AlterTask:
    name: Name
    action: str  # RESUME | SUSPEND | SET | UNSET | MODIFY_AS | MODIFY_WHEN | REMOVE_WHEN | ADD_AFTER | REMOVE_AFTER
    if_exists: bool = False
    props: dict[str, str] = field(default_factory=dict)
    text: str | None = None  # new body or condition
    after: tuple[Name, ...] = ()  # ADD / REMOVE AFTER: the predecessors


@dataclass(frozen=True)
class ExecuteTask:
    name: Name
    retry_last: bool = False  # EXECUTE TASK ... RETRY LAST
    config: str | None = None  # EXECUTE TASK ... USING CONFIG = '<json>'


@dataclass(frozen=True)
class TaskFunction:
    """``SELECT`` / ``CALL`` of a system function that changes tasks:
    SYSTEM$TASK_DEPENDENTS_ENABLE, SYSTEM$USER_TASK_CANCEL_ONGOING_EXECUTIONS."""

    function: str
    name: Name


@dataclass(frozen=True)
class CreateDynamicTable:
    name: Name
    query: str
    target_lag: str  # e.g. "2 minutes" or "DOWNSTREAM"
    or_replace: bool = False
    or_alter: bool = False
    if_not_exists: bool = False
    warehouse: str | None = None
    refresh_mode: str = "AUTO"
    initialize: str = "ON_CREATE"
    columns: tuple[str, ...] = ()
    comment: str | None = None
    scheduler: str = "ENABLE"  # ENABLE | DISABLE (DISABLE: refreshed only by ALTER ... REFRESH)
    frozen_where: str | None = None  # FROZEN WHERE (<predicate>), or the legacy IMMUTABLE WHERE
    backfill: Name | None = None  # BACKFILL FROM <table>
    params: dict[str, str] = field(default_factory=dict)  # e.g. INITIALIZATION_WAREHOUSE
    clone: Name | None = None  # CREATE DYNAMIC TABLE ... CLONE <dynamic table>


@dataclass(frozen=True)
class AlterDynamicTable:
    names: tuple[Name, ...]
    action: str  # REFRESH | SUSPEND | RESUME | SET | UNSET
    if_exists: bool = False
    props: dict[str, str] = field(default_factory=dict)  # SET / UNSET; FROZEN WHERE is key FROZEN_WHERE


@dataclass(frozen=True)
class DropObject:
    kind: str  # STREAM | TASK | DYNAMIC TABLE
    name: Name
    if_exists: bool = False


@dataclass(frozen=True)
class Show:
    kind: str  # STREAMS | TASKS | DYNAMIC TABLES
    terse: bool = False
    like: str | None = None
    scope: str | None = None  # SCHEMA | DATABASE | ACCOUNT
    scope_name: Name | None = None
    starts_with: str | None = None  # STARTS WITH '<name>' (case-sensitive)
    limit: int | None = None  # LIMIT <rows> [FROM '<name>']
    limit_from: str | None = None
    root_only: bool = False  # SHOW TASKS ... ROOT ONLY


@dataclass(frozen=True)
class Describe:
    kind: str
    name: Name


CdcStatement = (
    CreateStream
    | AlterStream
    | CreateTask
    | AlterTask
    | ExecuteTask
    | CreateDynamicTable
    | AlterDynamicTable
    | DropObject
    | Show
    | Describe
    | TaskFunction
)

_CDC_KINDS = {"STREAM", "TASK", "DYNAMIC"}
_SHOW_KINDS = {"STREAMS": "STREAMS", "TASKS": "TASKS", "DYNAMIC": "DYNAMIC TABLES"}
_PUNCT = {
    TokenType.L_PAREN,
    TokenType.R_PAREN,
    TokenType.COMMA,
    TokenType.DOT,
    TokenType.EQ,
    TokenType.SEMICOLON,
    TokenType.STRING,
}


class _Parser:
    def __init__(self, sql: str) -> None:
        self.sql = sql
        self.toks = tokenize(sql)
        self.i = 0

    # -- token helpers -------------------------------------------------
    def peek(self, k: int = 0) -> Token | None:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def word(self, k: int = 0) -> str:
        tok = self.peek(k)
        if tok is None or tok.token_type in (TokenType.STRING, TokenType.IDENTIFIER):
            return ""
        return tok.text.upper()

    def accept(self, *words: str) -> bool:
        n = len(words)
        if all(self.word(k) == w for k, w in enumerate(words)):
            self.i += n
            return True
        return False

    def expect(self, *words: str) -> None:
        if not self.accept(*words):
            got = self.peek()
            raise SqlError(
                f"syntax error: expected {' '.join(words)} but found {got.text if got else 'end of statement'!r}",
                statement=self.sql,
            )

    def at_end(self) -> bool:
        return self.i >= len(self.toks) or self.toks[self.i].token_type == TokenType.SEMICOLON

    def rest(self) -> str:
        tok = self.peek()
        if tok is None:
            raise SqlError("syntax error: unexpected end of statement", statement=self.sql)
        return self.sql[tok.start :].strip().rstrip(";").strip()

    def ident(self) -> str:
        tok = self.peek()
        if tok is None or tok.token_type in _PUNCT:
            raise SqlError(
                f"syntax error: expected a name but found {tok.text if tok else 'end'!r}",
                statement=self.sql,
            )
        self.i += 1
        if tok.token_type == TokenType.IDENTIFIER:
            return tok.text
        return tok.text.upper()

    def name(self) -> Name:
        parts = [self.ident()]
        while self.peek() is not None and self.peek().token_type == TokenType.DOT:  # type: ignore[union-attr]
            self.i += 1
            parts.append(self.ident())
        if len(parts) > 3:
            raise SqlError(f"invalid object name {'.'.join(parts)!r}", statement=self.sql)
        return Name(tuple(parts))

    def string(self) -> str:
        tok = self.peek()
        if tok is None or tok.token_type not in (TokenType.STRING, TokenType.RAW_STRING):
            raise SqlError(
                f"syntax error: expected a quoted string but found {tok.text if tok else 'end'!r}",
                statement=self.sql,
            )
        self.i += 1
        return tok.text

    def value(self) -> str:
        """A property value: a string, a word, a number or a boolean."""
        tok = self.peek()
        if tok is None:
            raise SqlError("syntax error: missing property value", statement=self.sql)
        if tok.token_type in (TokenType.STRING, TokenType.RAW_STRING):
            self.i += 1
            return tok.text
        if tok.token_type == TokenType.L_PAREN:
            # e.g. CONFIG or tag lists: keep the raw parenthesised text
            depth, start = 0, tok.start
            while self.peek() is not None:
                t = self.peek()
                assert t is not None
                depth += {TokenType.L_PAREN: 1, TokenType.R_PAREN: -1}.get(t.token_type, 0)
                self.i += 1
                if depth == 0:
                    return self.sql[start : t.end + 1]
            raise SqlError("syntax error: unbalanced parentheses", statement=self.sql)
        return self.name().__str__()

    def prop(self) -> tuple[str, str] | None:
        """``KEY = value`` if the next tokens are one, else None."""
        nxt = self.peek(1)
        if self.at_end() or nxt is None or nxt.token_type != TokenType.EQ:
            return None
        key = self.word()
        self.i += 2
        return key, self.value()

    def prop_list(self, what: str) -> dict[str, str]:
        """``KEY = value [,] KEY = value ...`` up to the end of the statement."""
        props: dict[str, str] = {}
        while not self.at_end():
            kv = self.prop()
            if kv is None:
                raise SqlError(f"syntax error in {what}", statement=self.sql)
            props[kv[0]] = kv[1]
            nxt = self.peek()
            if nxt is not None and nxt.token_type == TokenType.COMMA:
                self.i += 1
        return props

    def create_mode(self) -> tuple[bool, bool]:
        or_replace = self.accept("OR", "REPLACE")
        or_alter = self.accept("OR", "ALTER")
        if or_replace and or_alter:
            raise SqlError("OR REPLACE and OR ALTER cannot be combined", statement=self.sql)
        return or_replace, or_alter

    def if_not_exists(self, or_replace: bool) -> bool:
        if self.accept("IF", "NOT", "EXISTS"):
            if or_replace:
                raise SqlError("OR REPLACE and IF NOT EXISTS are incompatible", statement=self.sql)
            return True
        return False


_HEAD = re.compile(r"\s*([A-Za-z_]+)\b")
_TASK_FUNCTION = re.compile(
    r"(?is)\s*(?:SELECT|CALL)\s+(SYSTEM\$TASK_DEPENDENTS_ENABLE|SYSTEM\$USER_TASK_CANCEL_ONGOING_EXECUTIONS)"
    r"\s*\(\s*'((?:[^']|'')*)'\s*\)\s*;?\s*"
)
_CDC_HEADS = {"CREATE", "ALTER", "EXECUTE", "DROP", "SHOW", "DESCRIBE", "DESC"}


def parse_cdc(sql: str) -> CdcStatement | None:
    """Parse ``sql`` if it is a stream/task/dynamic-table/SHOW statement.

    Args:
        sql: one Snowflake statement.

    Returns:
        The parsed statement, or None when it is ordinary SQL for the translator.

    Raises:
        SqlError: it is one of these statements but malformed.
    """
    head = _HEAD.match(sql)
    if head is not None and head.group(1).upper() in {"SELECT", "CALL"}:
        m = _TASK_FUNCTION.fullmatch(sql)
        if m is not None:
            return TaskFunction(m.group(1).upper(), _Parser(m.group(2).replace("''", "'")).name())
        return None
    if head is not None and head.group(1).upper() not in _CDC_HEADS:
        return None  # ordinary DML or a query: spare tokenizing a possibly long statement
    p = _Parser(sql)
    w0 = p.word()
    if w0 == "CREATE":
        j = 1
        while p.word(j) in {"OR", "REPLACE", "ALTER", "TRANSIENT", "SECURE"}:
            j += 1
        if p.word(j) not in _CDC_KINDS or (p.word(j) == "DYNAMIC" and p.word(j + 1) != "TABLE"):
            return None
        p.i = 1
        return _parse_create(p)
    if w0 == "ALTER" and p.word(1) == "TASK":
        p.i = 2
        return _parse_alter_task(p)
    if w0 == "ALTER" and p.word(1) == "STREAM":
        p.i = 2
        return _parse_alter_stream(p)
    if w0 == "ALTER" and p.word(1) == "DYNAMIC" and p.word(2) == "TABLE":
        p.i = 3
        return _parse_alter_dt(p)
    if w0 == "EXECUTE":
        # sqlglot tokenizes EXECUTE as a command whose rest is one string token
        tail = sql[p.toks[0].end + 1 :]
        p = _Parser(tail)
        if not p.accept("TASK"):
            return None
        name = p.name()
        if p.accept("RETRY", "LAST"):
            if not p.at_end():
                raise SqlError("syntax error: EXECUTE TASK ... RETRY LAST takes no other option", statement=sql)
            return ExecuteTask(name, retry_last=True)
        config = None
        if p.accept("USING"):
            p.expect("CONFIG")
            if p.peek() is not None and p.peek().token_type == TokenType.EQ:  # type: ignore[union-attr]
                p.i += 1
            config = p.string()
        if not p.at_end():
            got = p.peek()
            raise SqlError(
                f"syntax error: unexpected {got.text if got else ''!r} after EXECUTE TASK {name}", statement=sql
            )
        return ExecuteTask(name, config=config)
    if w0 == "DROP" and p.word(1) in {"STREAM", "TASK", "DYNAMIC"}:
        p.i = 1
        kind = "DYNAMIC TABLE" if p.accept("DYNAMIC", "TABLE") else p.word()
        if kind != "DYNAMIC TABLE":
            p.i += 1
        if_exists = p.accept("IF", "EXISTS")
        return DropObject(kind, p.name(), if_exists)
    if w0 == "SHOW":
        return _parse_show(p)
    if w0 in {"DESCRIBE", "DESC"} and p.word(1) in {"STREAM", "TASK", "DYNAMIC"}:
        p.i = 1
        kind = "DYNAMIC TABLE" if p.accept("DYNAMIC", "TABLE") else p.word()
        if kind != "DYNAMIC TABLE":
            p.i += 1
        return Describe(kind, p.name())
    return None


def _parse_create(p: _Parser) -> CdcStatement:
    or_replace, or_alter = p.create_mode()
    p.accept("TRANSIENT")
    if p.accept("STREAM"):
        return _parse_create_stream(p, or_replace, or_alter)
    if p.accept("TASK"):
        return _parse_create_task(p, or_replace, or_alter)
    p.expect("DYNAMIC", "TABLE")
    return _parse_create_dt(p, or_replace, or_alter)


def _parse_create_stream(p: _Parser, or_replace: bool, or_alter: bool) -> CreateStream:
    ine = p.if_not_exists(or_replace)
    name = p.name()
    if p.accept("CLONE"):
        if or_alter:
            raise SqlError("syntax error: CREATE OR ALTER STREAM does not take CLONE", statement=p.sql)
        source = p.name()
        p.accept("COPY", "GRANTS")
        if not p.at_end():
            raise UnsupportedSqlError(
                f"CREATE STREAM ... CLONE ... {p.word() or p.rest()} is not supported by the local engine",
                statement=p.sql,
            )
        return CreateStream(name, source, "STREAM", or_replace, or_alter, ine, clone=True)
    p.accept("COPY", "GRANTS")
    comment = None
    while p.accept("WITH") or p.word() == "TAG":
        p.expect("TAG")
        p.value()
    p.expect("ON")
    if p.accept("DYNAMIC", "TABLE"):
        kind = "DYNAMIC TABLE"
    elif p.accept("TABLE"):
        kind = "TABLE"
    elif p.accept("VIEW"):
        kind = "VIEW"
    else:
        raise UnsupportedSqlError(
            f"streams on {p.word() or 'this object'} are not supported by the local engine",
            statement=p.sql,
        )
    source = p.name()
    at_stream: Name | None = None
    append_only = show_initial = False
    while not p.at_end():
        if p.word() in {"AT", "BEFORE"}:
            kw = p.word()
            p.i += 1
            p.expect("(")  # L_PAREN text
            key = p.word()
            p.i += 1
            p.accept("=>")
            if key == "STREAM" and kw == "AT":
                at_stream = _name_from_string(p, p.string())
                p.expect(")")
            else:
                raise UnsupportedSqlError(
                    f"{kw} ({key} => ...) time travel is not supported by the local engine;"
                    " only AT (STREAM => '<name>') is",
                    statement=p.sql,
                )
            continue
        kv = p.prop()
        if kv is None:
            raise SqlError(f"syntax error near {p.peek().text!r}", statement=p.sql)  # type: ignore[union-attr]
        key, val = kv
        if key == "APPEND_ONLY":
            append_only = val.upper() == "TRUE"
        elif key == "SHOW_INITIAL_ROWS":
            show_initial = val.upper() == "TRUE"
        elif key == "INSERT_ONLY" and val.upper() == "TRUE":
            raise SqlError(
                "Streams of type INSERT_ONLY can only be created on external tables.",
                statement=p.sql,
            )
        elif key == "COMMENT":
            comment = val
    return CreateStream(name, source, kind, or_replace, or_alter, ine, append_only, show_initial, at_stream, comment)


def _name_from_string(p: _Parser, text: str) -> Name:
    return _Parser(text).name() if text else Name(("",))


_TASK_STOP = {"AFTER", "WHEN", "AS"}


def _clone_source(p: _Parser, what: str) -> Name | None:
    """``CLONE <source> [COPY GRANTS]`` after the new object's name, or None."""
    if not p.accept("CLONE"):
        return None
    source = p.name()
    p.accept("COPY", "GRANTS")
    if not p.at_end():
        raise UnsupportedSqlError(
            f"CREATE {what} ... CLONE {source} {p.word() or ''} is not supported by the local engine"
            " (only CLONE <name> [COPY GRANTS])",
            statement=p.sql,
        )
    return source


def _parse_create_task(p: _Parser, or_replace: bool, or_alter: bool) -> CreateTask:
    ine = p.if_not_exists(or_replace)
    name = p.name()
    if (source := _clone_source(p, "TASK")) is not None:
        return CreateTask(name, "", or_replace, or_alter, ine, clone=source)
    params: dict[str, str] = {}
    after: list[Name] = []
    when: str | None = None
    while not p.at_end() and p.word() not in _TASK_STOP:
        if p.accept("WITH") or p.word() in {"TAG", "CONTACT"}:
            p.i += 1
            p.value()
            continue
        if p.accept("EXECUTE", "AS", "USER"):
            params["EXECUTE_AS_USER"] = str(p.name())
            continue
        kv = p.prop()
        if kv is None:
            raise SqlError(f"syntax error in CREATE TASK near {p.peek().text!r}", statement=p.sql)  # type: ignore[union-attr]
        params[kv[0]] = kv[1]
    if p.accept("AFTER"):
        after.append(p.name())
        while p.peek() is not None and p.peek().token_type == TokenType.COMMA:  # type: ignore[union-attr]
            p.i += 1
            after.append(p.name())
    if p.accept("WHEN"):
        start = p.peek()
        depth = 0
        while not p.at_end():
            tok = p.peek()
            assert tok is not None
            if tok.token_type == TokenType.L_PAREN:
                depth += 1
            elif tok.token_type == TokenType.R_PAREN:
                depth -= 1
            elif depth == 0 and p.word() == "AS":
                break
            p.i += 1
        prev = p.toks[p.i - 1]
        if start is None or p.at_end():
            raise SqlError("syntax error: CREATE TASK needs AS <statement>", statement=p.sql)
        when = p.sql[start.start : prev.end + 1].strip()
    p.expect("AS")
    body = p.rest()
    if "SCHEDULE" in params and after:
        raise SqlError("a task with AFTER cannot have a SCHEDULE", statement=p.sql)
    return CreateTask(
        name=name,
        body=body,
        or_replace=or_replace,
        or_alter=or_alter,
        if_not_exists=ine,
        warehouse=params.pop("WAREHOUSE", None),
        schedule=params.pop("SCHEDULE", None),
        when=when,
        after=tuple(after),
        comment=params.pop("COMMENT", None),
        params=params,
    )


def _parse_alter_task(p: _Parser) -> AlterTask:
    if_exists = p.accept("IF", "EXISTS")
    name = p.name()
    if p.accept("RESUME"):
        return AlterTask(name, "RESUME", if_exists)
    if p.accept("SUSPEND"):
        return AlterTask(name, "SUSPEND", if_exists)
    if p.accept("MODIFY", "AS"):
        return AlterTask(name, "MODIFY_AS", if_exists, text=p.rest())
    if p.accept("MODIFY", "WHEN"):
        return AlterTask(name, "MODIFY_WHEN", if_exists, text=p.rest())
    if p.accept("REMOVE", "WHEN"):
        return AlterTask(name, "REMOVE_WHEN", if_exists)
    for verb in ("ADD", "REMOVE"):
        if p.accept(verb, "AFTER"):
            preds = [p.name()]
            while p.peek() is not None and p.peek().token_type == TokenType.COMMA:  # type: ignore[union-attr]
                p.i += 1
                preds.append(p.name())
            return AlterTask(name, f"{verb}_AFTER", if_exists, after=tuple(preds))
    if p.accept("SET"):
        return AlterTask(name, "SET", if_exists, props=p.prop_list("ALTER TASK ... SET"))
    if p.accept("UNSET"):
        props = {}
        while not p.at_end():
            props[p.word()] = ""
            p.i += 1
            if p.peek() is not None and p.peek().token_type == TokenType.COMMA:  # type: ignore[union-attr]
                p.i += 1
        return AlterTask(name, "UNSET", if_exists, props=props)
    raise UnsupportedSqlError(f"ALTER TASK ... {p.word() or ''} is not supported by the local engine", statement=p.sql)


def _parse_alter_stream(p: _Parser) -> AlterStream:
    if_exists = p.accept("IF", "EXISTS")
    name = p.name()
    if p.word() in {"SET", "UNSET"} and p.word(1) == "TAG":
        _skip_tags(p, p.word() == "SET")  # tags: accepted, not kept
        return AlterStream(name, if_exists)
    if p.accept("SET"):
        props = p.prop_list("ALTER STREAM ... SET")
        unknown = set(props) - {"COMMENT", "TAG"}
        if unknown:
            raise UnsupportedSqlError(
                f"ALTER STREAM ... SET {', '.join(sorted(unknown))} is not supported by the local engine",
                statement=p.sql,
            )
        return AlterStream(name, if_exists, comment=props.get("COMMENT"))
    if p.accept("UNSET"):
        what = p.word()
        if what not in {"COMMENT", "TAG"}:
            raise UnsupportedSqlError(
                f"ALTER STREAM ... UNSET {what} is not supported by the local engine", statement=p.sql
            )
        return AlterStream(name, if_exists, unset_comment=what == "COMMENT")
    raise UnsupportedSqlError(
        f"ALTER STREAM ... {p.word() or ''} is not supported by the local engine", statement=p.sql
    )


def _skip_tags(p: _Parser, with_values: bool) -> None:
    """``SET TAG t = 'v' [, ...]`` / ``UNSET TAG t [, ...]`` (tag names may be qualified)."""
    what = "ALTER ... SET TAG" if with_values else "ALTER ... UNSET TAG"
    p.i += 2
    while True:
        p.name()
        if with_values:
            p.expect("=")
            p.string()
        if p.at_end():
            return
        if p.peek().token_type != TokenType.COMMA:  # type: ignore[union-attr]
            raise SqlError(f"syntax error in {what}", statement=p.sql)
        p.i += 1


def _parse_alter_dt(p: _Parser) -> AlterDynamicTable:
    if_exists = p.accept("IF", "EXISTS")
    names = [p.name()]
    while p.peek() is not None and p.peek().token_type == TokenType.COMMA:  # type: ignore[union-attr]
        p.i += 1
        names.append(p.name())
    for action in ("REFRESH", "SUSPEND", "RESUME"):
        if p.accept(action):
            p.accept("COPY", "SESSION")
            return AlterDynamicTable(tuple(names), action, if_exists)
    if p.accept("SET"):
        if _accept_frozen(p):  # SET FROZEN WHERE (<predicate>) (or IMMUTABLE WHERE)
            return AlterDynamicTable(tuple(names), "SET", if_exists, {"FROZEN_WHERE": _predicate(p)})
        return AlterDynamicTable(tuple(names), "SET", if_exists, p.prop_list("ALTER DYNAMIC TABLE ... SET"))
    if p.accept("UNSET"):
        keys: dict[str, str] = {}
        while not p.at_end():
            if _accept_frozen(p):
                keys["FROZEN_WHERE"] = ""
            else:
                keys[p.word()] = ""
                p.i += 1
            if p.peek() is not None and p.peek().token_type == TokenType.COMMA:  # type: ignore[union-attr]
                p.i += 1
        return AlterDynamicTable(tuple(names), "UNSET", if_exists, keys)
    raise UnsupportedSqlError(
        f"ALTER DYNAMIC TABLE ... {p.word() or ''} is not supported by the local engine",
        statement=p.sql,
    )


def _accept_frozen(p: _Parser) -> bool:
    """``FROZEN WHERE``, or the legacy ``IMMUTABLE WHERE`` Snowflake still accepts."""
    return p.accept("FROZEN", "WHERE") or p.accept("IMMUTABLE", "WHERE")


def _predicate(p: _Parser) -> str:
    """The parenthesised predicate of FROZEN WHERE, without its parentheses."""
    tok = p.peek()
    if tok is None or tok.token_type != TokenType.L_PAREN:
        raise SqlError("syntax error: FROZEN WHERE needs a parenthesised predicate", statement=p.sql)
    return p.value()[1:-1].strip()


def _parse_create_dt(p: _Parser, or_replace: bool, or_alter: bool) -> CreateDynamicTable:
    ine = p.if_not_exists(or_replace)
    name = p.name()
    if (source := _clone_source(p, "DYNAMIC TABLE")) is not None:
        return CreateDynamicTable(name, "", "DOWNSTREAM", or_replace, or_alter, ine, clone=source)
    columns: list[str] = []
    if p.peek() is not None and p.peek().token_type == TokenType.L_PAREN:  # type: ignore[union-attr]
        p.i += 1
        depth = 1
        expecting_name = True
        while depth > 0 and not p.at_end():
            tok = p.peek()
            assert tok is not None
            if tok.token_type == TokenType.L_PAREN:
                depth += 1
            elif tok.token_type == TokenType.R_PAREN:
                depth -= 1
            elif tok.token_type == TokenType.COMMA and depth == 1:
                expecting_name = True
            elif expecting_name and depth == 1:
                columns.append(tok.text if tok.token_type == TokenType.IDENTIFIER else tok.text.upper())
                expecting_name = False
            p.i += 1
    props: dict[str, str] = {}
    frozen: str | None = None
    backfill: Name | None = None
    while not p.at_end() and p.word() != "AS":
        if p.accept("CLUSTER", "BY") or p.accept("CLUSTER BY") or p.accept("WITH"):
            p.value()  # clustering changes no result: accepted, no effect locally
            continue
        if p.accept("COPY", "GRANTS"):
            continue
        if _accept_frozen(p):
            frozen = _predicate(p)
            continue
        if p.accept("BACKFILL", "FROM"):
            backfill = p.name()
            if p.word() in {"AT", "BEFORE"}:
                raise UnsupportedSqlError(
                    "BACKFILL FROM ... AT | BEFORE (time travel) is not supported by the local engine",
                    statement=p.sql,
                )
            continue
        kv = p.prop()
        if kv is None:
            raise SqlError(
                f"syntax error in CREATE DYNAMIC TABLE near {p.peek().text!r}",  # type: ignore[union-attr]
                statement=p.sql,
            )
        props[kv[0]] = kv[1]
    p.expect("AS")
    query = p.rest()
    lag = props.get("TARGET_LAG")
    if lag is None and props.get("SCHEDULER", "ENABLE").upper() != "DISABLE":
        raise SqlError("CREATE DYNAMIC TABLE requires TARGET_LAG", statement=p.sql)
    mode = props.get("REFRESH_MODE", "AUTO").upper()
    if mode not in {"AUTO", "FULL", "INCREMENTAL", "ADAPTIVE"}:
        raise UnsupportedSqlError(f"REFRESH_MODE = {mode} is not supported by the local engine", statement=p.sql)
    scheduler = props.get("SCHEDULER", "ENABLE").upper()
    if scheduler not in {"ENABLE", "DISABLE"}:
        raise SqlError(f"invalid value {scheduler!r} for SCHEDULER: ENABLE or DISABLE", statement=p.sql)
    if backfill is not None and frozen is None:
        raise SqlError(
            "BACKFILL FROM needs a FROZEN WHERE clause: only the frozen region is backfilled", statement=p.sql
        )
    params = {k: props[k] for k in ("INITIALIZATION_WAREHOUSE",) if k in props}
    return CreateDynamicTable(
        name=name,
        query=query,
        target_lag=lag or "DOWNSTREAM",
        or_replace=or_replace,
        or_alter=or_alter,
        if_not_exists=ine,
        warehouse=props.get("WAREHOUSE"),
        refresh_mode=mode,
        initialize=props.get("INITIALIZE", "ON_CREATE").upper(),
        columns=tuple(columns),
        comment=props.get("COMMENT"),
        scheduler=scheduler,
        frozen_where=frozen,
        backfill=backfill,
        params=params,
    )


def _parse_show(p: _Parser) -> Show | None:
    p.i = 1
    terse = p.accept("TERSE")
    kind = _SHOW_KINDS.get(p.word())
    if kind is None:
        return None
    p.i += 2 if kind == "DYNAMIC TABLES" else 1
    like = scope = None
    scope_name: Name | None = None
    if p.accept("LIKE"):
        like = p.string()
    tail = {"STARTS", "LIMIT", "ROOT"}
    if p.accept("IN"):
        if p.accept("ACCOUNT"):
            scope = "ACCOUNT"
        elif p.accept("DATABASE"):
            scope = "DATABASE"
            scope_name = None if p.at_end() or p.word() in tail else p.name()
        else:
            p.accept("SCHEMA")
            scope = "SCHEMA"
            scope_name = None if p.at_end() or p.word() in tail else p.name()
    starts_with = limit_from = None
    limit: int | None = None
    root_only = False
    if p.accept("STARTS", "WITH"):
        starts_with = p.string()
    if kind == "TASKS" and p.accept("ROOT", "ONLY"):
        root_only = True
    if p.accept("LIMIT"):
        tok = p.peek()
        if tok is None or not tok.text.isdigit():
            raise SqlError("syntax error: LIMIT needs a number of rows", statement=p.sql)
        limit = int(tok.text)
        p.i += 1
        if p.accept("FROM"):
            limit_from = p.string()
    if not p.at_end():
        got = p.peek()
        raise SqlError(
            f"SQL compilation error: syntax error: unexpected {got.text if got else ''!r} in SHOW {kind}",
            errno=1003,
            statement=p.sql,
        )
    return Show(kind, terse, like, scope, scope_name, starts_with, limit, limit_from, root_only)


def parse_name(text: str) -> Name:
    """An object name as written (``name``, ``schema.name``, ``db.schema.name``, quoted or not)."""
    return _Parser(text).name()
