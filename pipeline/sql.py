"""Analysts' read-only SQL on the live database (``groundswell sql``).

Every statement of an input is checked before any of them runs, by DuckDB's own
parser (:func:`duckdb.extract_statements` gives each statement's type, and
:func:`duckdb.tokenize` the words that tell a PRAGMA, CALL, SET or COPY apart):

- run: queries (SELECT, WITH, FROM, VALUES, TABLE, DESCRIBE, SHOW, SUMMARIZE),
  EXPLAIN [ANALYZE] of a query, the read-only PRAGMAs and catalog functions
  (:data:`READ_PRAGMAS`, :data:`CATALOG_FUNCTIONS`), ``SET`` of a session
  setting (:data:`SESSION_SETTINGS`), and ``COPY ... TO`` a file inside the
  export folder;
- refused, with the statement and the reason, and nothing of the input run:
  everything else, i.e. DDL, INSERT/UPDATE/DELETE/MERGE, ATTACH/DETACH, COPY
  FROM and COPY TO anywhere else, EXPORT/IMPORT DATABASE, INSTALL/LOAD,
  other SETs and PRAGMAs, CALL of anything else (CHECKPOINT included),
  transactions, prepared statements, VACUUM/ANALYZE.

The check is an allow-list, so a statement form it does not know is refused.
Behind it the connection is locked down too, in case the check misses a form:
it is opened read-only; file access is off except under the export folder
(DuckDB's ``enable_external_access`` and ``allowed_directories``); extensions
are never installed or loaded automatically; and the configuration is locked,
so no statement can undo any of that. Session settings are replayed on each
connection before the lock.

DuckDB lets a writing process hold the file alone, so the database is opened
for one input and closed after it: the pipeline's writer waits at most one
query, and :meth:`Store.open` waits out the writer's short transactions.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb
import pyarrow as pa

from pipeline.errors import QueryFailed, QueryRefused
from pipeline.store import Store

READ_PRAGMAS = frozenset(
    {
        "collations", "database_list", "database_size", "functions", "metadata_info", "platform", "show",
        "show_databases", "show_tables", "show_tables_expanded", "storage_info", "table_info", "user_agent", "version",
    }
)  # fmt: skip
"""PRAGMAs that only describe the database (``PRAGMA table_info('posts')``)."""

CATALOG_FUNCTIONS = frozenset(
    {f"pragma_{name}" for name in READ_PRAGMAS}
    | {
        f"duckdb_{name}"
        for name in (
            "columns", "constraints", "databases", "dependencies", "extensions", "functions", "indexes",
            "keywords", "memory", "schemas", "sequences", "settings", "tables", "temporary_files", "types", "views",
        )
    }
)  # fmt: skip
"""Table functions ``CALL`` may run: the catalog and the read-only PRAGMAs' functions."""

SESSION_SETTINGS = frozenset({"timezone", "calendar", "default_order", "default_null_order", "threads", "memory_limit"})
"""Settings a session may change: how results look, and this process's own resources."""

_REFUSALS: dict[duckdb.StatementType, str] = {
    duckdb.StatementType.CREATE: "DDL (CREATE) changes the schema",
    duckdb.StatementType.CREATE_FUNC: "DDL (CREATE FUNCTION/MACRO) changes the schema",
    duckdb.StatementType.DROP: "DDL (DROP) changes the schema",
    duckdb.StatementType.ALTER: "DDL (ALTER, COMMENT ON) changes the schema",
    duckdb.StatementType.INSERT: "INSERT writes rows",
    duckdb.StatementType.UPDATE: "UPDATE writes rows",
    duckdb.StatementType.DELETE: "DELETE/TRUNCATE writes rows",
    duckdb.StatementType.MERGE_INTO: "MERGE INTO writes rows",
    duckdb.StatementType.ATTACH: "ATTACH opens another database",
    duckdb.StatementType.DETACH: "DETACH changes the attached databases",
    duckdb.StatementType.EXPORT: "EXPORT DATABASE writes files",
    duckdb.StatementType.COPY_DATABASE: "COPY FROM DATABASE writes a database",
    duckdb.StatementType.LOAD: "INSTALL/LOAD of extensions is not allowed",
    duckdb.StatementType.VACUUM: "VACUUM/ANALYZE rewrites the database",
    duckdb.StatementType.TRANSACTION: "transactions are not needed: each input runs in its own read-only transaction",
    duckdb.StatementType.PREPARE: "prepared statements are not supported here",
    duckdb.StatementType.EXECUTE: "prepared statements are not supported here",
    duckdb.StatementType.MULTI: "it needs to write (PIVOT without an IN list creates a type: list the values, ON col IN (...))",
}


_LOCKDOWN = (
    "SET enable_external_access = false",  # after allowed_directories, which it makes the only way out
    "SET autoinstall_known_extensions = false",
    "SET autoload_known_extensions = false",
)


@dataclass(frozen=True)
class Statement:
    """One checked statement: its text, its place in the input, and how it runs."""

    number: int
    sql: str
    kind: Literal["query", "setting", "copy"]


@dataclass(frozen=True)
class Result:
    """What one statement returned (a COPY returns its row count, as DuckDB does), and
    the session's time zone, in which its times are shown."""

    table: pa.Table
    timezone: str = "UTC"


class _Refused(Exception):
    """Why a statement cannot run (turned into QueryRefused with its number and text)."""


def check(sql: str, export_dir: Path) -> list[Statement]:
    """The input's statements, each allowed; :class:`QueryRefused` naming the first that is not."""
    try:
        parsed = duckdb.extract_statements(sql)
    except duckdb.ParserException as error:
        raise QueryFailed(_first_line(error)) from None
    if not parsed:
        raise QueryFailed("no SQL statement to run")
    statements = []
    for number, statement in enumerate(parsed, start=1):
        try:
            kind = _kind(_type(statement), statement.query, export_dir)
        except _Refused as reason:
            raise QueryRefused(f"statement {number} ({_snippet(statement.query)}) refused: {reason}; nothing was run") from None
        statements.append(Statement(number, statement.query, kind))
    return statements


def _kind(kind: duckdb.StatementType, sql: str, export_dir: Path) -> Literal["query", "setting", "copy"]:
    words = _words(sql)
    if kind == duckdb.StatementType.SELECT:
        return "query"
    if kind == duckdb.StatementType.EXPLAIN:
        return _explained(sql, export_dir)
    if kind == duckdb.StatementType.PRAGMA and words[0].upper() == "PRAGMA" and words[1].lower() in READ_PRAGMAS:
        return "query"
    if kind == duckdb.StatementType.CALL and words[0].upper() == "CALL" and words[1].lower() in CATALOG_FUNCTIONS and words[2] == "(":
        return "query"
    if kind == duckdb.StatementType.SET:
        return _setting(words)
    if kind == duckdb.StatementType.COPY:
        return _copy(words, export_dir)
    if kind == duckdb.StatementType.PRAGMA:
        raise _Refused(f"only the read-only PRAGMAs run: {', '.join(sorted(READ_PRAGMAS))}")
    if kind == duckdb.StatementType.CALL:
        raise _Refused("CALL runs only catalog functions such as duckdb_tables() or pragma_table_info('posts') (CHECKPOINT writes)")
    raise _Refused(_REFUSALS.get(kind, f"{kind.name} is not a read-only query"))


def _type(statement: duckdb.Statement) -> duckdb.StatementType:
    try:
        return statement.type
    except ValueError:  # a statement type this DuckDB client cannot name (e.g. UPDATE EXTENSIONS)
        raise _Refused("a kind of statement groundswell sql does not run") from None


def _explained(sql: str, export_dir: Path) -> Literal["query"]:
    """EXPLAIN (which with ANALYZE runs the statement) of an allowed query only."""
    try:
        statements = duckdb.extract_statements(_after_explain(sql))
    except (duckdb.ParserException, ValueError):
        statements = []
    if len(statements) != 1 or _kind(_type(statements[0]), statements[0].query, export_dir) != "query":
        raise _Refused("EXPLAIN is allowed for queries only")
    return "query"


def _after_explain(sql: str) -> str:
    """The statement an EXPLAIN explains: past EXPLAIN, ANALYZE and a parenthesised option list."""
    tokens = _tokens(sql)
    index, depth = 1, 0
    while index < len(tokens):
        text = tokens[index][1]
        depth += (text == "(") - (text == ")")
        if depth == 0 and text not in (")", "(") and text.upper() != "ANALYZE":
            break
        index += 1
    return sql[tokens[index][0] :] if index < len(tokens) else ""


def _setting(words: list[str]) -> Literal["setting"]:
    """``SET [SESSION|LOCAL] name ...`` of a session setting; nothing global, no RESET, USE or PRAGMA x = y."""
    names = words[1:]
    if names and names[0].upper() in ("SESSION", "LOCAL"):
        names = names[1:]
    if words[0].upper() != "SET" or not names or names[0].lower() not in SESSION_SETTINGS:
        raise _Refused(f"only SET of {', '.join(sorted(SESSION_SETTINGS))} is allowed")
    return "setting"


def _copy(words: list[str], export_dir: Path) -> Literal["copy"]:
    """``COPY ... TO 'file'`` where the file lies inside the export folder."""
    depth = 0
    for index, word in enumerate(words):
        depth += (word == "(") - (word == ")")
        if depth == 0 and word.upper() == "FROM":
            raise _Refused("COPY ... FROM loads a file into a table (a write)")
        if depth == 0 and word.upper() == "TO":
            target = words[index + 1] if index + 1 < len(words) else ""
            break
    else:
        raise _Refused("a COPY without TO")
    if not (target.startswith("'") and target.endswith("'") and len(target) > 1):
        raise _Refused("write the COPY target as a quoted path, e.g. TO 'data/exports/result.csv'")
    path = Path(target[1:-1].replace("''", "'")).expanduser()
    if not inside(path, export_dir):
        raise _Refused(f"COPY ... TO writes only inside the export folder {export_dir}/ (e.g. TO '{export_dir / 'result.csv'}')")
    return "copy"


def inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` (relative to the working directory, symbolic links followed) lies in ``folder``."""
    return path.resolve().is_relative_to(folder.resolve())


def _tokens(sql: str) -> list[tuple[int, str]]:
    """(offset, text) of every token but comments."""
    tokens = duckdb.tokenize(sql)
    ends = [start for start, _ in tokens[1:]] + [len(sql)]
    return [
        (start, sql[start:end].strip())
        for (start, kind), end in zip(tokens, ends)
        if kind != duckdb.token_type.comment
    ]


def _words(sql: str) -> list[str]:
    """The statement's tokens as text, padded so that looking three ahead never fails."""
    return [text for _, text in _tokens(sql)] + ["", "", ""]


class Session:
    """Read-only queries on one database file. A ``SET`` of a session setting
    lasts for the rest of the session (the interactive mode's later inputs too)."""

    def __init__(self, db_path: Path, export_dir: Path, *, lock_timeout: float = 30.0):
        self.db_path = Path(db_path)
        self.export_dir = Path(export_dir)
        self.lock_timeout = lock_timeout
        self.settings: list[str] = []

    def run(self, sql: str) -> list[Result]:
        """Check every statement, then run them in order on one read-only connection;
        the results of the statements that return rows (SET returns none)."""
        statements = check(sql, self.export_dir)
        results = []
        with ExitStack() as stack:
            store: Store | None = None
            for statement in statements:
                if statement.kind == "setting":
                    stack.close()
                    store = stack.enter_context(self._apply(statement))
                    continue
                if statement.kind == "copy":
                    self.export_dir.mkdir(parents=True, exist_ok=True)
                store = store or stack.enter_context(self._open())
                results.append(_execute(store, statement))
        return results

    def _apply(self, statement: Statement) -> Store:
        """Keep a session setting, opening a connection with it to prove that DuckDB takes it."""
        self.settings.append(statement.sql)
        try:
            return self._open()
        except QueryFailed:
            self.settings.pop()
            raise

    def _open(self) -> Store:
        store = Store.open(self.db_path, read_only=True, lock_timeout=self.lock_timeout)
        try:
            store.connection.execute("SET allowed_directories = ?", [[str(self.export_dir.resolve()) + os.sep]])
            for setting in [*_LOCKDOWN, *self.settings, "SET lock_configuration = true"]:
                store.connection.execute(setting)
        except duckdb.Error as error:
            store.close()
            raise QueryFailed(_first_line(error)) from None
        return store


def _execute(store: Store, statement: Statement) -> Result:
    try:
        relation = store.connection.sql(statement.sql)
        table = relation.to_arrow_table() if relation is not None else pa.table({})
    except duckdb.Error as error:
        raise QueryFailed(f"statement {statement.number} ({_snippet(statement.sql)}): {_first_line(error)}") from None
    ((timezone,),) = store.connection.execute("SELECT current_setting('TimeZone')").fetchall()
    return Result(table, timezone)


def inputs(lines: Iterable[str]) -> Iterator[str]:
    """Group the interactive mode's lines into inputs, each ending with a line that ends in ';'."""
    buffer: list[str] = []
    for line in lines:
        if not buffer and not line.strip():
            continue
        buffer.append(line)
        if line.rstrip().endswith(";"):
            yield "\n".join(buffer)
            buffer = []
    if any(line.strip() for line in buffer):
        yield "\n".join(buffer)


# -- output ---------------------------------------------------------------------------
# An in-memory DuckDB writes the results: it renders nested types, decimals,
# intervals and time zones the way DuckDB's own CLI does, in every format.

_COPY_OPTIONS = {"csv": "FORMAT csv, HEADER", "json": "FORMAT json, ARRAY true", "parquet": "FORMAT parquet"}


def write_result(result: Result, fmt: Literal["csv", "json", "parquet"], path: Path) -> None:
    """Write a result to ``path``, whole or not at all (a temporary file renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        with _memory(result) as memory:
            memory.execute(f"COPY result TO ? ({_COPY_OPTIONS[fmt]})", [str(partial)])
        os.replace(partial, path)
    except (duckdb.Error, OSError) as error:
        partial.unlink(missing_ok=True)
        raise QueryFailed(f"cannot write {path}: {_first_line(error)}") from None


def render_text(result: Result, fmt: Literal["csv", "json"]) -> str:
    """A result as CSV or JSON text, for standard output."""
    with tempfile.TemporaryDirectory(prefix="groundswell-sql-") as folder:
        path = Path(folder) / f"result.{fmt}"
        write_result(result, fmt, path)
        return path.read_text(encoding="utf-8")


def text_rows(result: Result, limit: int) -> list[tuple[str | None, ...]]:
    """The first ``limit`` rows with every value as DuckDB prints it (None for NULL)."""
    if not result.table.num_columns:
        return []
    with _memory(result) as memory:
        return memory.execute(f"SELECT COLUMNS(*)::VARCHAR FROM result LIMIT {int(limit)}").fetchall()


def _memory(result: Result) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB holding the result as ``result``, in the session's time zone."""
    memory = duckdb.connect()
    memory.execute("SET TimeZone = ?", [result.timezone])
    memory.register("result", result.table)
    return memory


def _snippet(sql: str, limit: int = 60) -> str:
    text = " ".join(sql.split()).rstrip(";")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
