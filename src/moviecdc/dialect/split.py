"""Split a rendered SQL script into statements.

Splitting is token-based (sqlglot's Snowflake tokenizer), so semicolons inside
strings, quoted identifiers, comments and ``$$ ... $$`` blocks never split.
Snowflake Scripting blocks (``BEGIN ... END``, as a task body or an anonymous
block) stay whole, including the ``IF / CASE / FOR / WHILE / LOOP / REPEAT``
constructs nested inside them. ``BEGIN TRANSACTION`` / ``BEGIN WORK`` / a bare
``BEGIN;`` are transaction statements, not blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot.dialects.snowflake import Snowflake
from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

from moviecdc.errors import SqlError

_TOKENIZER_DIALECT = Snowflake()
# Keywords that open a scripting construct closed by `END <keyword>` when they
# start a statement inside a block.
_LOOP_OPENERS = {"IF", "FOR", "WHILE", "LOOP", "REPEAT"}
_STATEMENT_STARTERS = {"BEGIN", "THEN", "ELSE", "DO", "LOOP", "REPEAT", "EXCEPTION"}
_TXN_WORDS = {"TRANSACTION", "WORK", "NAME"}


@dataclass(frozen=True)
class Statement:
    """One statement of a script: its text (no trailing ``;``) and 1-based line."""

    sql: str
    line: int


def tokenize(sql: str) -> list[Token]:
    """Tokenize Snowflake SQL, turning tokenizer failures into a SqlError."""
    try:
        return list(_TOKENIZER_DIALECT.tokenize(sql))
    except TokenError as exc:
        raise SqlError(f"cannot tokenize SQL: {exc}", statement=sql[:200]) from exc


def _word(tok: Token | None) -> str:
    if tok is None or tok.token_type in (TokenType.STRING, TokenType.IDENTIFIER):
        return ""
    return tok.text.upper()


def _opens_block(tokens: list[Token], i: int) -> bool:
    """Does the BEGIN at ``tokens[i]`` open a scripting block (not a transaction)?"""
    nxt = tokens[i + 1] if i + 1 < len(tokens) else None
    if nxt is None or nxt.token_type == TokenType.SEMICOLON:
        # A bare "BEGIN;" at statement start is a transaction; inside a block
        # "BEGIN" always opens a nested block, handled by the caller.
        return False
    return _word(nxt) not in _TXN_WORDS


def split_statements(sql: str) -> list[Statement]:
    """Split ``sql`` into statements.

    Args:
        sql: a script of Snowflake SQL statements separated by ``;``.

    Returns:
        The non-empty statements in order, without their terminating ``;``.

    Raises:
        SqlError: the script cannot be tokenized (e.g. an unterminated string).
    """
    tokens = tokenize(sql)
    statements: list[Statement] = []
    start: int | None = None  # index of the statement's first token
    depth = 0  # scripting block nesting
    prev: Token | None = None
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        word = _word(tok)
        if tok.token_type == TokenType.SEMICOLON and depth == 0:
            if start is not None:
                statements.append(_make(sql, tokens[start], tokens[i - 1]))
            start, prev = None, tok
            i += 1
            continue
        at_stmt_start = start is None or (
            prev is not None and (prev.token_type == TokenType.SEMICOLON or _word(prev) in _STATEMENT_STARTERS)
        )
        if start is None:
            start = i
        if word == "BEGIN":
            if (depth > 0 and _word(tokens[i + 1] if i + 1 < len(tokens) else None) not in _TXN_WORDS) or (
                depth == 0 and _opens_block(tokens, i) and (i == start or _word(prev) == "AS")
            ):
                depth += 1
        elif word == "DECLARE" and depth == 0 and i == start:
            # DECLARE ... BEGIN ... END: the BEGIN that follows opens the block;
            # count the DECLARE section as part of it.
            depth += 1
            j = i + 1
            while j < len(tokens) and _word(tokens[j]) != "BEGIN":
                j += 1
            i, prev = j + 1, tokens[j] if j < len(tokens) else tok
            continue
        elif (word == "CASE" and depth > 0) or (word in _LOOP_OPENERS and depth > 0 and at_stmt_start):
            depth += 1
        elif word == "END" and depth > 0:
            depth -= 1
            nxt = _word(tokens[i + 1]) if i + 1 < len(tokens) else ""
            if nxt in _LOOP_OPENERS or nxt == "CASE":
                i += 1  # END IF / END LOOP / END CASE ...
        prev = tokens[i]
        i += 1
    if start is not None:
        statements.append(_make(sql, tokens[start], tokens[-1]))
    return statements


def _make(sql: str, first: Token, last: Token) -> Statement:
    # Token.end is inclusive; quoted tokens' start/end cover the quotes.
    return Statement(sql=sql[first.start : last.end + 1].strip(), line=first.line)
