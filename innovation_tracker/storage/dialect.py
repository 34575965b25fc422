"""What differs between the two SQL dialects, in one place: DuckDB (the embedded default) and PostgreSQL.

The SQL in `storage/` is written once, in DuckDB's dialect, and runs as written on DuckDB. On PostgreSQL it runs
through `to_postgres`, which rewrites the DuckDB constructs the storage layer uses into PostgreSQL's, and the
functions in `POSTGRES_COMPAT` give PostgreSQL the few DuckDB functions that have no PostgreSQL spelling. The
rules a developer follows so that new SQL runs on both are in docs/architecture.md ("Backends").

Rewritten here (outside string literals and quoted names):
- parameters: `?` → `%s`, `$name` → `%(name)s`, a literal `%` → `%%`;
- `GROUP BY ALL` → the ordinals of the select list's items that hold no aggregate; `ORDER BY ALL` → every ordinal;
- `alias.* REPLACE (expr AS column, …)` over `main.<table> alias` → the table's columns, with those replaced;
- `INSERT INTO t … ON CONFLICT DO UPDATE` → `ON CONFLICT (<t's primary key>) DO UPDATE`;
- `list(` → `array_agg(`, `json_object(` → `json_build_object(`, `regexp_matches(` → `regexp_like(`,
  `TINYINT` → `SMALLINT`, `DOUBLE` → `DOUBLE PRECISION`, `temp.` → `pg_temp.`.
Provided as functions in PostgreSQL's `main` schema: `regexp_full_match`, `contains`, `list_contains`, `len`
(text lists), `json_extract_string` (a JSON path) and `any_value` (built in from PostgreSQL 16; before, an
aggregate per common type stepping with `min`'s C function, and a generic one in SQL for the rest).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

POSTGRES_SCHEMA = "main"  # DuckDB's default schema: `main.participant` means the same table on both


def is_postgres(target: object) -> bool:
    """A `postgresql://` (or `postgres://`) URL selects PostgreSQL; anything else is a DuckDB file path."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


POSTGRES_COMPAT = r"""
CREATE SCHEMA IF NOT EXISTS main;
CREATE OR REPLACE FUNCTION main.regexp_full_match(s text, pattern text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$ SELECT s ~ ('^(?:' || pattern || ')$') $f$;
CREATE OR REPLACE FUNCTION main.contains(s text, part text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
    $f$ SELECT s LIKE '%' || replace(replace(replace(part, '\', '\\'), '%', '\%'), '_', '\_') || '%' $f$;
CREATE OR REPLACE FUNCTION main.list_contains(xs text[], x text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$ SELECT x = ANY(xs) $f$;
CREATE OR REPLACE FUNCTION main.len(xs text[]) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$ SELECT coalesce(cardinality(xs), 0) $f$;
CREATE OR REPLACE FUNCTION main.json_extract_string(j json, path text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$ SELECT jsonb_path_query_first(j::jsonb, path::jsonpath) #>> '{}' $f$;
CREATE OR REPLACE FUNCTION main._any_value_step(kept anyelement, x anyelement) RETURNS anyelement
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$ SELECT coalesce(kept, x) $f$;
DO $d$ BEGIN
    IF current_setting('server_version_num')::int < 160000 THEN
        CREATE OR REPLACE AGGREGATE main.any_value(anyelement) (SFUNC = main._any_value_step, STYPE = anyelement);
        -- The common types step with the built-in C function of `min` (any value is a right answer): a step in SQL
        -- costs microseconds a row, which the portfolio's schedule (325,000 rows at S = 1000) turned into seconds.
        CREATE OR REPLACE AGGREGATE main.any_value(text) (SFUNC = text_smaller, STYPE = text);
        CREATE OR REPLACE AGGREGATE main.any_value(integer) (SFUNC = int4smaller, STYPE = integer);
        CREATE OR REPLACE AGGREGATE main.any_value(bigint) (SFUNC = int8smaller, STYPE = bigint);
        CREATE OR REPLACE AGGREGATE main.any_value(smallint) (SFUNC = int2smaller, STYPE = smallint);
        CREATE OR REPLACE AGGREGATE main.any_value(double precision) (SFUNC = float8smaller, STYPE = double precision);
        CREATE OR REPLACE AGGREGATE main.any_value(date) (SFUNC = date_smaller, STYPE = date);
        CREATE OR REPLACE AGGREGATE main.any_value(timestamp) (SFUNC = timestamp_smaller, STYPE = timestamp);
        CREATE OR REPLACE AGGREGATE main.any_value(boolean) (SFUNC = booland_statefunc, STYPE = boolean);
    END IF;
END $d$;
"""


@dataclass(frozen=True)
class Catalogue:
    """The tables of the `main` schema as PostgreSQL holds them: columns in order (with their types), and
    primary keys. `to_postgres` needs them to spell out `* REPLACE` and `ON CONFLICT` targets."""

    columns: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    primary_keys: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def names(self, table: str) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns.get(table, ()))

    def type_of_column(self, name: str) -> str | None:
        """The type a column of this name has in every table that has one (None when tables disagree)."""
        found = {kind for columns in self.columns.values() for column, kind in columns if column == name}
        return found.pop() if len(found) == 1 else None


CATALOGUE_SQL = (
    "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c"
    " WHERE c.table_schema = 'main' ORDER BY c.table_name, c.ordinal_position"
)
PRIMARY_KEY_SQL = (
    "SELECT t.table_name, k.column_name FROM information_schema.table_constraints t"
    " JOIN information_schema.key_column_usage k USING (constraint_schema, constraint_name)"
    " WHERE t.table_schema = 'main' AND t.constraint_type = 'PRIMARY KEY' ORDER BY t.table_name, k.ordinal_position"
)


def catalogue_of(columns: list[tuple[str, str, str]], keys: list[tuple[str, str]]) -> Catalogue:
    out: dict[str, list[tuple[str, str]]] = {}
    for table, column, kind in columns:
        out.setdefault(table, []).append((column, kind))
    pks: dict[str, list[str]] = {}
    for table, column in keys:
        pks.setdefault(table, []).append(column)
    return Catalogue({t: tuple(c) for t, c in out.items()}, {t: tuple(c) for t, c in pks.items()})


class DialectError(ValueError):
    """SQL that cannot be rewritten for PostgreSQL (see the rules in docs/architecture.md)."""


_QUOTED = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\$(\w*)\$.*?\$\1\$", re.DOTALL)


def _mask(sql: str) -> str:
    """`sql` with the inside of string literals, quoted names and dollar-quoted bodies blanked (same length), so
    the rewrites below never touch them."""
    return _QUOTED.sub(lambda m: m.group(0)[0] + " " * (len(m.group(0)) - 2) + m.group(0)[-1], sql)


_WORDS = [
    (re.compile(r"\blist\s*\(", re.IGNORECASE), "array_agg("),
    (re.compile(r"\bjson_object\s*\(", re.IGNORECASE), "json_build_object("),
    (re.compile(r"\bregexp_matches\s*\(", re.IGNORECASE), "regexp_like("),
    (re.compile(r"\bTINYINT\b", re.IGNORECASE), "SMALLINT"),
    (re.compile(r"\bDOUBLE\b(?!\s+PRECISION)", re.IGNORECASE), "DOUBLE PRECISION"),
    (re.compile(r"(?<![\w.])temp\.", re.IGNORECASE), "pg_temp."),
]
_PARAM = re.compile(r"\?|\$([A-Za-z_]\w*)|%")
_AGGREGATE = re.compile(
    r"\b(count|sum|avg|min|max|array_agg|list|string_agg|any_value|bool_and|bool_or|median|quantile_cont)\s*\(",
    re.IGNORECASE,
)


_COMMENT_OR_QUOTED = re.compile(r"--[^\n]*|" + _QUOTED.pattern, re.DOTALL)


def _without_comments(sql: str) -> str:
    """`sql` without its `--` comments (string literals and quoted names kept as they are): an apostrophe in a
    comment ("the coder's") would otherwise open a string literal for the masking below."""
    if "--" not in sql:
        return sql
    return _COMMENT_OR_QUOTED.sub(lambda m: "" if m.group(0).startswith("--") else m.group(0), sql)


def to_postgres(sql: str, catalogue: Catalogue, *, params: bool = True) -> str:
    """`sql` (DuckDB's dialect, as written in storage/) in PostgreSQL's dialect. With `params` false the text is
    sent without parameters, so `%` stays as it is."""
    sql = _without_comments(sql)
    sql = _replace_stars(sql, catalogue)
    sql = _by_all(sql, catalogue)
    sql = _conflict_targets(sql, catalogue)
    masked = _mask(sql)
    edits: list[tuple[int, int, str]] = []
    for pattern, replacement in _WORDS:
        edits += [(m.start(), m.end(), replacement) for m in pattern.finditer(masked)]
    if params:  # psycopg reads % everywhere, inside string literals too
        edits += [(m.start(), m.end(), "%%") for m in re.finditer("%", sql)]
        for m in _PARAM.finditer(masked):
            text = m.group(0)
            if text != "%":
                edits.append((m.start(), m.end(), "%s" if text == "?" else f"%({m.group(1)})s"))
    return _apply(sql, edits)


def _apply(sql: str, edits: list[tuple[int, int, str]]) -> str:
    for start, end, new in sorted(edits, reverse=True):
        sql = sql[:start] + new + sql[end:]
    return sql


def _closing(masked: str, open_at: int) -> int:
    """The index of the parenthesis that closes the one at `open_at`."""
    depth = 0
    for i in range(open_at, len(masked)):
        if masked[i] == "(":
            depth += 1
        elif masked[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    raise DialectError("unbalanced parentheses")


def _split_top(masked: str, start: int, end: int) -> list[tuple[int, int]]:
    """(start, end) of the comma-separated items of masked[start:end] at its own depth."""
    items, depth, begin = [], 0, start
    for i in range(start, end):
        ch = masked[i]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append((begin, i))
            begin = i + 1
    items.append((begin, end))
    return items


_SELECT = re.compile(r"\bSELECT\b", re.IGNORECASE)
_FROM = re.compile(r"\bFROM\b", re.IGNORECASE)


def _word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _select_list(masked: str, before: int) -> tuple[int, int]:
    """(start, end) of the select list of the SELECT that a clause at `before` belongs to: the nearest SELECT
    before it at the same parenthesis depth, up to its FROM (or the clause) at that depth."""
    depth = 0
    for i in range(before - 1, -1, -1):
        ch = masked[i]
        if ch == ")":
            depth += 1
        elif ch == "(":
            depth -= 1
            if depth < 0:
                break
        elif depth == 0 and _SELECT.match(masked, i) and (i == 0 or not _word_char(masked[i - 1])):
            start = i + len("SELECT")
            distinct = re.compile(r"\s+DISTINCT\b", re.IGNORECASE).match(masked, start)
            if distinct:
                start = distinct.end()
            depth2 = 0
            for j in range(start, before):
                if masked[j] == "(":
                    depth2 += 1
                elif masked[j] == ")":
                    depth2 -= 1
                elif depth2 == 0 and _FROM.match(masked, j) and not _word_char(masked[j - 1]):
                    return start, j
            return start, before
    raise DialectError("GROUP BY ALL / ORDER BY ALL outside a SELECT")


_BY_ALL = re.compile(r"\b(GROUP|ORDER)\s+BY\s+ALL\b", re.IGNORECASE)


def _by_all(sql: str, catalogue: Catalogue) -> str:
    masked = _mask(sql)
    edits = []
    for m in _BY_ALL.finditer(masked):
        start, end = _select_list(masked, m.start())
        items = _split_top(masked, start, end)
        if [masked[a:b].strip() for a, b in items] == ["*"]:  # SELECT * FROM one table: by its columns
            table = re.compile(r"FROM\s+(?:main\.)?(\w+)\s*$", re.IGNORECASE).match(masked, end, m.start())
            columns = catalogue.columns.get(table.group(1), ()) if table else ()
            if columns and m.group(1).upper() == "ORDER":
                # JSON has no ordering in PostgreSQL: such columns order by their text, as DuckDB orders them.
                names = [f'"{c}"::text' if kind in ("json", "jsonb") else f'"{c}"' for c, kind in columns]
                edits.append((m.start(), m.end(), f"ORDER BY {', '.join(names)}"))
                continue
        if not items or any(masked[a:b].strip().endswith("*") for a, b in items):
            raise DialectError(f"{m.group(0)} over a select list with *: name the columns")
        if m.group(1).upper() == "GROUP":
            ordinals = [str(n) for n, (a, b) in enumerate(items, 1) if not _AGGREGATE.search(_outer(masked, a, b))]
        else:
            ordinals = [str(n) for n in range(1, len(items) + 1)]
        # Nothing but aggregates: DuckDB's GROUP BY ALL then groups by nothing (one row), as no GROUP BY does.
        edits.append((m.start(), m.end(), f"{m.group(1)} BY {', '.join(ordinals)}" if ordinals else ""))
    return _apply(sql, edits)


_SUBQUERY = re.compile(r"\(\s*SELECT\b", re.IGNORECASE)


def _outer(masked: str, start: int, end: int) -> str:
    """masked[start:end] with its subqueries blanked: an aggregate inside a scalar subquery is not the item's."""
    text = masked[start:end]
    while found := _SUBQUERY.search(text):
        close = _closing(text, found.start())
        text = text[: found.start()] + " " * (close + 1 - found.start()) + text[close + 1 :]
    return text


_STAR_REPLACE = re.compile(r"\b(\w+)\.\*\s+REPLACE\s*\(", re.IGNORECASE)


def _replace_stars(sql: str, catalogue: Catalogue) -> str:
    masked = _mask(sql)
    edits = []
    for m in _STAR_REPLACE.finditer(masked):
        alias = m.group(1)
        close = _closing(masked, m.end() - 1)
        source = re.compile(rf"\bFROM\s+main\.(\w+)\s+(?:AS\s+)?{re.escape(alias)}\b", re.IGNORECASE)
        found = source.search(masked, close)
        if found is None or not catalogue.names(found.group(1)):
            raise DialectError(f"{alias}.* REPLACE needs FROM main.<table> {alias}")
        replaced = {}
        for a, b in _split_top(masked, m.end(), close):
            expr = re.match(r"(?s)\s*(.*?)\s+AS\s+(\w+)\s*$", sql[a:b], re.IGNORECASE)
            if expr is None:
                raise DialectError("REPLACE items are written `expression AS column`")
            replaced[expr.group(2)] = expr.group(1)
        columns = ", ".join(
            f"{replaced[c]} AS {c}" if c in replaced else f"{alias}.{c}" for c in catalogue.names(found.group(1))
        )
        edits.append((m.start(), close + 1, columns))
    return _apply(sql, edits)


_CONFLICT = re.compile(r"\bON\s+CONFLICT\s+DO\s+UPDATE\b", re.IGNORECASE)
_INSERT_INTO = re.compile(r"\bINSERT\s+INTO\s+(?:main\.)?(\w+)", re.IGNORECASE)


def _conflict_targets(sql: str, catalogue: Catalogue) -> str:
    masked = _mask(sql)
    edits = []
    for m in _CONFLICT.finditer(masked):
        into = list(_INSERT_INTO.finditer(masked, 0, m.start()))
        key = catalogue.primary_keys.get(into[-1].group(1)) if into else None
        if not key:
            raise DialectError("ON CONFLICT DO UPDATE needs an INSERT INTO a table with a primary key")
        edits.append((m.start(), m.end(), f"ON CONFLICT ({', '.join(key)}) DO UPDATE"))
    return _apply(sql, edits)


# pandas/Python values → the PostgreSQL type of a registered frame's column (when the catalogue cannot tell).
def postgres_type(values: list, dtype: object = None) -> str:
    import datetime as dt
    import decimal

    kind = getattr(dtype, "kind", "")
    if kind in "iu" and kind:
        return "bigint"
    if kind == "f":
        return "double precision"
    if kind == "b":
        return "boolean"
    if kind == "M":
        return "timestamp"
    sample = next((v for v in values if v is not None), None)
    if isinstance(sample, bool):
        return "boolean"
    if isinstance(sample, int):
        return "bigint"
    if isinstance(sample, float):
        return "double precision"
    if isinstance(sample, decimal.Decimal):
        return "numeric"
    if isinstance(sample, dt.datetime):
        return "timestamp"
    if isinstance(sample, dt.date):
        return "date"
    return "text"
