"""User SQL against the store: DuckDB's own parser decides what a query is, and a locked connection
runs it.

Two walls, so neither has to be perfect:
- `reading_statement` parses the text on a locked in-memory connection (the parser that would run
  it; locked because DuckDB's parser itself opens files: `IMPORT DATABASE 'dir'` reads dir/schema.sql
  while parsing, so an unlocked parse leaked a file's first token and told whether it exists; so `$$...$$`, `E'...'`, nested comments and every other literal form are read exactly as DuckDB
  reads them) and accepts exactly one statement of the SELECT kind (SELECT, WITH, FROM, VALUES,
  DESCRIBE, SHOW, SUMMARIZE, TABLE and PRAGMA table_info all parse to it). Its syntax tree
  (`json_serialize_sql`) is then searched for the table functions that change state although they
  sit in a SELECT (`FROM enable_logging()`, `checkpoint()`, ...), and `query('...')` text is
  judged by the same rules. The parsed statement is what runs, not a re-read of the text.
- `LOCKED` is the configuration of the connection it runs on: read-only store file, no file or
  network access (read_text, read_parquet('https://...'), COPY, ATTACH, INSTALL), no extension
  auto-install or auto-load, and the configuration locked so a query cannot SET any of it back."""
from __future__ import annotations

import json
import re
import threading
from typing import Any, Iterator

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
# Statements named by their first word where DuckDB files them under another kind (USE is a SET,
# ANALYZE a VACUUM, CHECKPOINT a CALL, TRUNCATE a DELETE, ...).
_FIRST_WORDS = {"USE", "ANALYZE", "CHECKPOINT", "FORCE", "VACUUM", "RESET", "SET", "DEALLOCATE",
                "TRUNCATE", "COMMENT", "BEGIN", "START", "COMMIT", "ROLLBACK", "ABORT", "END", "CALL",
                "EXPORT", "IMPORT", "ATTACH", "DETACH", "COPY", "PREPARE", "EXECUTE", "CREATE", "DROP",
                "ALTER", "INSERT", "UPDATE", "DELETE", "MERGE", "EXPLAIN", "PRAGMA", "INSTALL", "LOAD"}
_SPOKEN_WORD = {"FORCE": "FORCE CHECKPOINT", "INSTALL": "INSTALL/LOAD", "LOAD": "INSTALL/LOAD"}
# Table functions that change the database or its settings although they are read in a FROM.
STATEFUL_FUNCTIONS = frozenset({
    "enable_logging", "disable_logging", "truncate_duckdb_logs", "enable_profiling", "disable_profiling",
    "checkpoint", "force_checkpoint", "json_execute_serialized_sql", "python_map_function",
})
_CALLED = re.compile(r"\b(" + "|".join(sorted(STATEFUL_FUNCTIONS | {"query"})) + r")\s*\(", re.IGNORECASE)
_COMMENT_OR_SPACE = re.compile(r"\s+|--[^\n]*|/\*.*?\*/", re.DOTALL)


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


def _first_word(query: str) -> str:
    position = 0
    while True:
        skip = _COMMENT_OR_SPACE.match(query, position)
        if not skip or skip.end() == position:
            break
        position = skip.end()
    word = re.match(r"[A-Za-z_]+", query[position:])
    return word.group(0).upper() if word else ""


def _spoken(kind: str, query: str) -> str:
    word = _first_word(query)
    if word in _FIRST_WORDS:
        return _SPOKEN_WORD.get(word, word)
    return _SPOKEN.get(kind, kind)


def _not_allowed(what: str) -> UserError:
    return UserError(f"the store is read-only here: {what} is not allowed; use {READING}")


_PARSER: list[Any] = []
_PARSER_LOCK = threading.Lock()


def _parser():
    """A cursor on the one in-memory connection (made once: a DuckDB instance costs ~0.1 s) that
    parses but can reach nothing: no files, no network, no extensions."""
    import duckdb

    with _PARSER_LOCK:
        if not _PARSER:
            _PARSER.append(duckdb.connect(":memory:", config=dict(LOCKED)))
        return _PARSER[0].cursor()


def reading_statement(query: str) -> Any:
    """The one reading statement `query` holds (a `duckdb.Statement`), or a UserError saying why not."""
    if not isinstance(query, str):
        raise UserError(f"a query is text, got {type(query).__name__}")
    con = _parser()
    try:
        statement = _one_statement(con, query)
        _refuse_stateful_functions(con, statement.query)
        return statement
    finally:
        con.close()


def _one_statement(con: Any, query: str) -> Any:
    import duckdb

    try:
        statements = con.extract_statements(query)
    except duckdb.PermissionException:  # the parser wanted a file (IMPORT DATABASE): say no more
        raise _not_allowed(_spoken("", query) or "reading files") from None
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
        raise _not_allowed(_spoken(kind, query))
    return statement


def _functions(node: Any) -> Iterator[dict]:
    """Every function call in a serialized syntax tree."""
    if isinstance(node, dict):
        if isinstance(node.get("function_name"), str):
            yield node
        for value in node.values():
            yield from _functions(value)
    elif isinstance(node, list):
        for value in node:
            yield from _functions(value)


def _refuse_stateful_functions(con: Any, text: str, depth: int = 0) -> None:
    """Refuse the table functions that change state, and judge `query('...')` text by the same rules."""
    import duckdb

    from registry.literals import literal

    spelled = literal(text)  # a literal, not a bound parameter: binding imports pandas (~0.5 s)
    try:
        row = (con.execute(f"SELECT json_serialize_sql({spelled})") if spelled is not None
               else con.execute("SELECT json_serialize_sql(?)", [text])).fetchone()
        tree = json.loads(row[0])
    except (duckdb.Error, TypeError, ValueError):
        tree = {"error": True}
    if tree.get("error"):  # a form the serializer does not cover (SUMMARIZE, DESCRIBE ...): by name
        called = _CALLED.search(text)
        if called:
            raise UserError(f"the store is read-only here: {called.group(1).lower()}() is not allowed "
                            f"in this statement")
        return
    for call in _functions(tree.get("statements", [])):
        name = call["function_name"].lower()
        if name in STATEFUL_FUNCTIONS:
            raise UserError(f"the store is read-only here: {name}() changes the database or its "
                            f"settings and is not allowed")
        if name == "query":
            inner = [c.get("value", {}) for c in call.get("children", [])
                     if isinstance(c, dict) and c.get("class") == "CONSTANT"]
            if len(inner) != 1 or not isinstance(inner[0].get("value"), str):
                raise UserError("query() runs only constant text here, e.g. query('SELECT 1')")
            if depth > 8:
                raise UserError("query() nested too deeply")
            _one_statement(con, inner[0]["value"])
            _refuse_stateful_functions(con, inner[0]["value"], depth + 1)


def refusal(exc: BaseException) -> UserError:
    """One line for a query the locked connection stopped or DuckDB could not run."""
    import duckdb

    message = _first_line(exc)
    if isinstance(exc, duckdb.PermissionException):
        return UserError(f"not allowed here: {message.removeprefix('Permission Error: ')} "
                         f"(user SQL reads only the store's tables)")
    return UserError(f"query failed: {message}")
