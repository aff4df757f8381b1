"""Query parameters written into the SQL as literals, for reads that must stay light.

DuckDB's Python binding imports numpy and pandas (~0.5 s) to bind any parameter; `tickets report` and
planning otherwise need neither. `inline(sql, params)` finds the `?` placeholders with DuckDB's own
tokenizer (so a '?' inside a string literal or a comment is left alone) and writes each value as a
typed SQL literal. Only None, bools, ints, finite floats and strings without NUL are written; for
anything else it returns None and the caller binds the parameters as usual."""
from __future__ import annotations

import math
from typing import Any, Sequence


def literal(value: Any) -> str | None:
    """`value` as a DuckDB literal of the same type, or None when it has no safe spelling here."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return f"{value}::BIGINT" if -(2 ** 63) <= value < 2 ** 63 else None
    if isinstance(value, float):
        return f"{value!r}::DOUBLE" if math.isfinite(value) else None
    if isinstance(value, str) and "\x00" not in value:
        return "'" + value.replace("'", "''") + "'"  # standard SQL strings: only the quote is special
    return None


def inline(sql: str, params: Sequence[Any]) -> str | None:
    """`sql` with its `?` placeholders replaced by `params` as literals; None when that cannot be
    done exactly (a value without a literal spelling, a count mismatch, $n or named parameters)."""
    import duckdb

    params = list(params)
    spelled = [literal(v) for v in params]
    if any(s is None for s in spelled):
        return None
    positions = [pos for pos, kind in duckdb.tokenize(sql)
                 if kind == duckdb.token_type.operator and sql.startswith("?", pos)]
    if len(positions) != len(params) or "$" in sql:
        return None
    out, last = [], 0
    for pos, text in zip(positions, spelled):
        if sql[pos + 1:pos + 2].isdigit():  # ?1: numbered parameters are not ours to place
            return None
        out.append(sql[last:pos])
        out.append(text)
        last = pos + 1
    out.append(sql[last:])
    return "".join(out)
