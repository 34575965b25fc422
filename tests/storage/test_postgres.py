"""PostgreSQL as the store of several app servers: what only a shared database needs, on the backend fixture (the
DuckDB variants check the same behaviour where it applies), and the SQL rewrites of storage/dialect.py."""

from __future__ import annotations

import datetime as dt
import threading

import psycopg
import pytest

from innovation_tracker import storage
from innovation_tracker.app import service
from innovation_tracker.domain.errors import DatabaseUnavailable, EditConflict, StorageError
from innovation_tracker.domain.model import AccountRole, Study, Viewer
from innovation_tracker.storage import dialect
from tests.conftest import EVALUATOR
from tests.support import postgres

FUNDER = Viewer("fun", AccountRole.FUNDER)

CATALOGUE = dialect.Catalogue(
    columns={
        "participant": (
            ("participant_code", "character varying"),
            ("project_code", "character varying"),
            ("role", "character varying"),
        ),
        "audit_entry": (("audit_id", "bigint"), ("before", "json")),
        "record_version": (
            ("entity", "character varying"),
            ("entity_key", "character varying"),
            ("version", "integer"),
        ),
    },  # fmt: skip
    primary_keys={"record_version": ("entity", "entity_key")},
)


@pytest.mark.parametrize(
    ("duckdb_sql", "postgres_sql"),
    [
        ("SELECT a FROM t WHERE b = ? AND c = $name", "SELECT a FROM t WHERE b = %s AND c = %(name)s"),
        ("SELECT '?', '$x', 'a%b' FROM t WHERE x LIKE 'y%'", "SELECT '?', '$x', 'a%%b' FROM t WHERE x LIKE 'y%%'"),
        (
            "SELECT a, b, count(*) AS n FROM t GROUP BY ALL ORDER BY ALL",
            "SELECT a, b, count(*) AS n FROM t GROUP BY 1, 2 ORDER BY 1, 2, 3",
        ),
        (
            "SELECT p, (SELECT max(x) FROM u GROUP BY ALL) AS m, sum(y) AS s FROM t GROUP BY ALL",
            "SELECT p, (SELECT max(x) FROM u ) AS m, sum(y) AS s FROM t GROUP BY 1, 2",
        ),
        (
            "SELECT p.* REPLACE (m.pseudo AS participant_code) FROM main.participant p JOIN m",
            "SELECT m.pseudo AS participant_code, p.project_code, p.role FROM main.participant p JOIN m",
        ),
        (
            "INSERT INTO record_version (entity, entity_key, version) VALUES (?, ?, ?)"
            " ON CONFLICT DO UPDATE SET version = excluded.version",
            "INSERT INTO record_version (entity, entity_key, version) VALUES (%s, %s, %s)"
            " ON CONFLICT (entity, entity_key) DO UPDATE SET version = excluded.version",
        ),
        (
            "SELECT list(a ORDER BY a), json_object('k', b) FROM t",
            "SELECT array_agg(a ORDER BY a), json_build_object('k', b) FROM t",
        ),
        ("SELECT * FROM audit_entry ORDER BY ALL", 'SELECT * FROM audit_entry ORDER BY "audit_id", "before"::text'),
        (
            "CREATE TABLE x (r TINYINT, s DOUBLE, d DOUBLE PRECISION)",
            "CREATE TABLE x (r SMALLINT, s DOUBLE PRECISION, d DOUBLE PRECISION)",
        ),
        ("DROP TABLE IF EXISTS temp.s1", "DROP TABLE IF EXISTS pg_temp.s1"),
        (  # an apostrophe in a comment opens no string literal
            "-- the coder's rating\nCREATE TABLE x (r TINYINT, t VARCHAR DEFAULT '--') -- it's\n",
            "\nCREATE TABLE x (r SMALLINT, t VARCHAR DEFAULT '--') \n",
        ),
    ],  # fmt: skip
)
def test_duckdb_sql_is_rewritten_for_postgres(duckdb_sql, postgres_sql):
    assert dialect.to_postgres(duckdb_sql, CATALOGUE) == postgres_sql


def test_sql_the_rewrite_cannot_express_is_refused_with_the_rule():
    with pytest.raises(dialect.DialectError, match="name the columns"):
        dialect.to_postgres("SELECT t.*, 1 AS x FROM t GROUP BY ALL", CATALOGUE)
    with pytest.raises(dialect.DialectError, match="primary key"):
        dialect.to_postgres("INSERT INTO nowhere VALUES (1) ON CONFLICT DO UPDATE SET a = 1", CATALOGUE)


def test_the_backend_is_chosen_by_the_target():
    assert dialect.is_postgres("postgresql://app@db.example.org/tracker")
    assert dialect.is_postgres("postgres://app@/tracker?host=/run/postgresql")
    assert not dialect.is_postgres("data/tracker.duckdb")
    assert not dialect.is_postgres("/srv/postgresql/tracker.duckdb")


def _project_version(con, code="ARTS"):
    found = storage.list_projects(con, EVALUATOR)
    return int(found.loc[found.project_code == code, "version"].iloc[0])


def test_a_write_by_another_server_shows_at_the_next_run(backend, seeded_database):
    """Two app servers on one PostgreSQL database: each reads the data version once per script run (an indexed
    max(audit_id)); a save through one server moves the version the other reads at its next run, so its kept
    results are dropped. On DuckDB the second handle is the same process (one process per file)."""
    if backend == "duckdb":
        pytest.skip("a DuckDB file is open in one process at a time: there is no second server")
    first, second = storage.Database(seeded_database), storage.Database(seeded_database)
    try:
        assert first.shared and second.shared
        before = storage.data_version(second.cursor())
        storage.update_project(first.cursor(), "alice", "ARTS", {"name": "Arts on prescription, renamed"})
        after = storage.data_version(second.cursor())
        assert after > before
        names = storage.list_projects(second.cursor(), EVALUATOR).set_index("project_code")["name"]
        assert names["ARTS"] == "Arts on prescription, renamed"
    finally:
        first.close()
        second.close()


def test_two_servers_saving_the_same_record_the_second_is_told(backend, seeded_database):
    """Optimistic concurrency across servers: two saves of one project from forms opened at the same version, at
    the same moment, through two connections (two servers on PostgreSQL): one is saved, the other is refused with
    EditConflict, and the saved name is the one stored, with one version step and one audit entry."""
    handles = [storage.Database(seeded_database)] + (
        [storage.Database(seeded_database)] if backend == "postgresql" else []
    )
    cursors = [handles[0].cursor(), handles[-1].cursor()]
    version = _project_version(cursors[0])
    start = threading.Barrier(2)
    saved, refused, other = [], [], []

    def save(n):
        start.wait()
        try:
            storage.update_project(cursors[n], f"editor{n}", "ARTS", {"name": f"Name {n}"}, version=version)
            saved.append(n)
        except EditConflict as exc:
            refused.append(exc)
        except Exception as exc:  # anything else is a failure of the rule
            other.append(exc)

    threads = [threading.Thread(target=save, args=(n,)) for n in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert other == []
        assert len(saved) == 1 and len(refused) == 1
        assert refused[0].version == version + 1 and refused[0].by == f"editor{saved[0]}"
        con = handles[0].cursor()
        names = storage.list_projects(con, EVALUATOR).set_index("project_code")["name"]
        assert names["ARTS"] == f"Name {saved[0]}"
        assert _project_version(con) == version + 1
        audited = con.execute(
            "SELECT count(*) FROM audit_entry WHERE entity = 'project' AND entity_key = 'ARTS' AND action = 'update'"
        ).fetchall()[0][0]
        assert audited == 1
    finally:
        for handle in handles:
            handle.close()


@pytest.fixture
def empty_target(backend, tmp_path):
    """A database with nothing in it, not even the schema: a new file, or a new PostgreSQL database."""
    with postgres.blank_database(backend, tmp_path / "migrations.duckdb") as target:
        yield target


def test_migrations_apply_in_order_a_failed_one_rolls_back_and_a_newer_schema_is_refused(empty_target):
    con = storage.connect(empty_target, migrate_to=4)
    assert storage.schema_version(con) == 4
    assert (
        con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'record_version'").fetchall()[0][
            0
        ]
        == 0
    )
    con.close()
    con = storage.connect(empty_target)
    newest = max(version for version, _, _ in storage.shipped_migrations())
    assert storage.schema_version(con) == newest
    broken = [(newest + 1, "broken", "CREATE TABLE half_done (a INTEGER); INSERT INTO half_done VALUES ('x');")]
    with pytest.raises(StorageError, match="broken failed and was rolled back"):
        storage.migrate(con, extra=broken)
    assert storage.schema_version(con) == newest
    assert (
        con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'half_done'").fetchall()[0][0]
        == 0
    )
    con.execute("INSERT INTO schema_migration (version, name) VALUES (?, 'from_the_future')", [newest + 1])
    con.close()
    with pytest.raises(DatabaseUnavailable, match="newer version"):
        storage.connect(empty_target)


# Every page an evaluator has, drawn from the demo study on PostgreSQL (on DuckDB the page suites do this).
EVALUATOR_PAGES = [
    "overview", "audit", "compare", "data-quality", "fieldwork", "matrix", "milestones", "search", "settings",
    "sustainability", "timeline", "manage", "log-interview", "import-export", "glossary",
]  # fmt: skip


@pytest.mark.parametrize("page", EVALUATOR_PAGES)
def test_every_page_draws_from_postgres(backend, demo_database, monkeypatch, page):
    if backend == "duckdb":
        pytest.skip("the page suites open every page on DuckDB")
    from tests.support.apptest import everything_shown, open_page

    at = open_page(monkeypatch, demo_database, f"pages/{page}.py")
    assert "Demo evaluation" in everything_shown(at)


def test_any_value_gives_a_value_of_its_group_for_every_type(empty_target):
    """Before PostgreSQL 16, `any_value` is ours (dialect.POSTGRES_COMPAT): the common types step with `min`'s C
    function, the rest (JSON here) with a generic aggregate in SQL. On both backends: one of the group's values,
    NULLs passed over, NULL for a group of NULLs."""
    con = storage.connect(empty_target)
    try:
        rows = con.execute(
            "SELECT g, any_value(t) AS t, any_value(n) AS n, any_value(b) AS b, any_value(d) AS d,"
            " any_value(CAST(j AS JSON)) AS j FROM (VALUES"
            " (1, NULL, NULL, NULL, NULL, NULL), (1, 'kept', 7, TRUE, DATE '2026-03-02', '{\"a\": 1}'),"
            " (2, NULL, NULL, NULL, NULL, NULL)) v(g, t, n, b, d, j) GROUP BY g ORDER BY g"
        ).fetchall()
        assert [tuple(str(v) for v in row) for row in rows] == [
            ("1", "kept", "7", "True", "2026-03-02", '{"a": 1}'),
            ("2", "None", "None", "None", "None", "None"),
        ]
        # The common types keep their type (a wave's position is summed and sorted by the pages).
        service.init_study(con, Study("Any value", dt.date(2026, 1, 1), dt.date(2026, 12, 31)))
        position, label = con.execute("SELECT any_value(position), any_value(label) FROM wave").fetchone()
        assert isinstance(position, int) and isinstance(label, str)
    finally:
        con.close()


WORDS = "Cut 50% of staff_time \\ overtime"


@pytest.mark.parametrize(
    ("text", "found"),
    [("50%", True), ("0% OF", True), ("staff_time", True), ("ff_t", True), ('"\\ over"', True),
     ("f%t", False), ("5_%", False), ("staff%time", False), ("\\\\", False)],
)  # fmt: skip
def test_the_evidence_search_takes_every_character_of_a_word_literally(backend, seeded, text, found):
    """A word is matched as written: % and _ are no wildcards (PostgreSQL's `contains` is a LIKE, so that its
    trigram index serves it, with them escaped) and a backslash is a backslash."""
    con = seeded
    interview_id = con.execute(
        "SELECT min(interview_id) FROM factor_rating WHERE evidence IS NOT NULL AND shareable"
    ).fetchone()[0]
    storage.write(
        con,
        lambda cur: cur.execute(
            "UPDATE factor_rating SET evidence = ? WHERE interview_id = ? AND evidence IS NOT NULL",
            [WORDS, interview_id],
        ),
    )
    for viewer in (EVALUATOR, FUNDER):
        hits = storage.search_evidence(con, viewer, text, storage.SearchFilters(summaries=False), limit=100)
        assert (hits.total > 0) == found, viewer
        assert all(WORDS in row for row in hits.rows.text)


@pytest.mark.parametrize(
    ("reader", "index"),
    [
        ("SELECT evidence FROM factor_rating", "factor_rating_evidence_words"),
        (
            "SELECT CASE WHEN r.shareable THEN r.evidence END AS evidence FROM factor_rating r",
            "factor_rating_shared_words",
        ),
        ("SELECT summary AS evidence FROM interview", "interview_summary_words"),
    ],
)  # fmt: skip
def test_postgres_finds_a_searched_word_by_its_trigram_index(backend, seeded_database, reader, index):
    """The texts as the search reads them, for editors and for funders and teams (storage/access.py), each have a
    trigram index that PostgreSQL can find a word by (storage/postgres.py, SEARCH_INDEXES)."""
    if backend == "duckdb":
        pytest.skip("DuckDB scans the excerpts (fast enough at S = 1000: 0.07 s for the first page)")
    storage.connect(seeded_database).close()  # as a server starts: the indexes are made if missing
    with psycopg.connect(seeded_database) as conn:
        conn.execute("SET search_path = main, public")
        conn.execute("SET enable_seqscan = off")  # the demo is small enough to scan: ask what the index can do
        plan = "\n".join(
            row[0]
            for row in conn.execute(
                f"EXPLAIN SELECT count(*) FROM ({reader}) t WHERE contains(lower(t.evidence), 'money')"
            )
        )
    assert index in plan
