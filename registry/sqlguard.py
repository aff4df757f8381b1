"""User SQL against the store: DuckDB's own parser decides what a query is, and a locked connection
runs it.

Two walls, so neither has to be perfect:
- `reading_statement` parses the text with `duckdb.extract_statements` (the parser that would run
  it, so `$$...$$`, `E'...'`, nested comments and every other literal form are read exactly as DuckDB
  reads them) and accepts exactly one statement of the SELECT kind (SELECT, WITH, FROM, VALUES,
  DESCRIBE, SHOW, SUMMARIZE, TABLE and PRAGMA table_info all parse to it). The parsed statement is
  what runs, not a re-read of the text.
- `LOCKED` is the configuration of the connection it runs on: read-only store file, no file or
  network access (read_text, read_parquet('https://...'), COPY, ATTACH, INSTALL), no extension
  auto-install or auto-load, and the configuration locked so a query cannot SET any of it back."""
from __future__ import annotations

from typing import Any

from registry.errors import UserError

LOCKED: dict[str, Any] = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "lock_configuration": True,
}

READING = "SELECT, WITH, FROM, DESCRIBE, SHOW or SUMMARIZE"
# Statement kinds named the way users typed them (INSTALL parses as a LOAD statement).
_SPOKEN = {"LOAD": "INSTALL/LOAD", "VARIABLE_SET": "SET", "LOGICAL_PLAN": "PIVOT"}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _quote_hint(message: str) -> str:
    """A column named like an SQL keyword (`check`) parses as the keyword: say to quote it."""
    import re

    from registry.columns import COLUMNS

    near = re.search(r'at or near "([A-Za-z_]+)"', message)
    word = near.group(1) if near else ""
    if word and any(word.lower() == c for names in COLUMNS.values() for c in names):
        return f'; {word} is an SQL keyword: quote the column as "{word.lower()}" (e.g. SELECT "{word.lower()}" FROM runs)'
    return ""


def reading_statement(query: str) -> Any:
    """The one reading statement `query` holds (a `duckdb.Statement`), or a UserError saying why not."""
    import duckdb

    if not isinstance(query, str):
        raise UserError(f"a query is text, got {type(query).__name__}")
    try:
        statements = duckdb.extract_statements(query)
    except duckdb.ParserException as exc:
        message = _first_line(exc).removeprefix("Parser Error: ")
        message = f"SQL {message}" if message.startswith("syntax error") else f"SQL syntax error: {message}"
        raise UserError(message + _quote_hint(message)) from None
    except duckdb.Error as exc:
        raise UserError(f"cannot read this query: {_first_line(exc)}") from None
    if not statements:
        raise UserError("empty query")
    if len(statements) > 1 and any(not st.query.strip() for st in statements):  # one statement DuckDB expands
        raise UserError("this PIVOT needs its values listed to run read-only: "
                        "PIVOT run_results ON method IN ('lt', 'snip') USING avg(test_acc)")
    if len(statements) > 1:
        raise UserError(f"one statement at a time, please (found {len(statements)})")
    statement = statements[0]
    kind = statement.type.name
    if kind != "SELECT":
        raise UserError(f"the store is read-only here: {_SPOKEN.get(kind, kind)} is not allowed; "
                        f"use {READING}")
    return statement


def refusal(exc: BaseException) -> UserError:
    """One line for a query the locked connection stopped or DuckDB could not run."""
    import duckdb

    message = _first_line(exc)
    if isinstance(exc, duckdb.PermissionException):
        return UserError(f"not allowed here: {message.removeprefix('Permission Error: ')} "
                         f"(user SQL reads only the store's tables)")
    return UserError(f"query failed: {message}")
