"""Shared fixtures: real DuckDB files in tmp_path, the demo study built once per session and copied per test.

`backend` is the one parametrised fixture behind `db`, `study_db` and `seeded`: in the modules of BOTH_BACKENDS
they run on DuckDB and on PostgreSQL (a database per test on the server of tests/support/postgres.py), elsewhere
on DuckDB.
"""

from __future__ import annotations

import atexit
import datetime as dt
import functools
import json
import shutil
import tempfile
from pathlib import Path

import pytest
import streamlit as st
from streamlit.components.v2 import manifest_scanner

from innovation_tracker import storage
from innovation_tracker.app import service
from innovation_tracker.domain.model import AccountRole, Study, Viewer
from tests.support import cfir_study, postgres
from tests.support.browser import CHROMIUM_ARGS, chromium_or_skip

DEMO_TODAY = dt.date(2026, 3, 2)
EVALUATOR = Viewer("test-evaluator", AccountRole.EVALUATOR)

# Every AppTest scans all installed distributions' metadata for Streamlit components (about 0.4 s of CPU each time);
# a server does it once, when it starts. Installed packages do not change during a test run: scan once per process.
_scan_once = functools.cache(manifest_scanner.scan_component_manifests)
manifest_scanner.scan_component_manifests = lambda max_workers=None: list(_scan_once())  # type: ignore[assignment]

# The `not slow` loop runs property tests with at most this many examples (their saved failing examples are still
# replayed first); the full run keeps each test's own settings.
FAST_LOOP_EXAMPLES = 10


@pytest.fixture(autouse=True)
def fresh_caches():
    """Streamlit's caches live in the process and AppTest shares them: start and end every test with none, so no
    test sees another's connection or data (and no cached connection keeps a database file locked). AppTest runs
    navigate as on a running server (`tests.support.apptest.as_served`)."""
    st.cache_data.clear()
    st.cache_resource.clear()
    from tests.support.apptest import as_served  # tests.support.apptest imports this module

    as_served()
    yield
    st.cache_resource.clear()


# Test modules whose `db`, `study_db` and `seeded` run on both backends.
BOTH_BACKENDS = {
    "test_storage",
    "test_access",
    "test_postgres",
    "test_records",
    "test_capture",
    "test_capture_nothing_lost",
    "test_accounts",
    "test_sessions",
    "test_concurrency",
    "test_import",
    "test_import_sync",
    "test_roundtrip",
    "test_backup",
    "test_migrations",
    "test_kept",
    "test_hostile_text",
    "test_bounds",
    "test_time_limit",
}  # fmt: skip


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        module = metafunc.module.__name__.rsplit(".", 1)[-1]
        backends = ["duckdb", "postgresql"] if module in BOTH_BACKENDS else ["duckdb"]
        metafunc.parametrize("backend", backends, indirect=True, scope="module")


@pytest.fixture(scope="module")
def backend(request):
    """ "duckdb" or "postgresql" (the latter skips where no server is given; see tests/support/postgres.py)."""
    if request.param == "postgresql":
        postgres.server_or_skip()
    return request.param


@pytest.fixture(scope="session")
def migrated_template():
    """A PostgreSQL database with the schema and nothing else, that tests copy: faster than migrating each."""
    url = postgres.create_database(postgres.server_or_skip())
    storage.connect(url).close()
    yield postgres.name_of(url)
    postgres.drop_database(url)


@pytest.fixture
def database(backend, tmp_path, request):
    """Where a test's new database lives: a file in tmp_path, or a new PostgreSQL database with the schema in place
    (as `storage.connect` leaves a new one), dropped after the test."""
    if backend == "duckdb":
        yield tmp_path / "test.duckdb"
        return
    url = postgres.create_database(postgres.server_or_skip(), template=request.getfixturevalue("migrated_template"))
    yield url
    postgres.drop_database(url)


@pytest.fixture
def db(database):
    con = storage.connect(database)
    yield con
    con.close()


_TEMPLATES: dict[Study, Path] = {}
_TEMPLATE_DIR = Path(tempfile.mkdtemp(prefix="empty-studies-"))
atexit.register(shutil.rmtree, _TEMPLATE_DIR, True)


def _new_study_file(path, study: Study):
    """A new file at `path` holding `study` with the default schedule, codebook and indicators. Each study is
    migrated and set up once per test process (as `storage.connect` and `service.init_study` do) and copied: a
    copy costs a hundredth of that."""
    if study not in _TEMPLATES:
        template = _TEMPLATE_DIR / f"{len(_TEMPLATES)}.duckdb"
        con = storage.connect(template)
        service.init_study(con, study)
        con.close()
        _TEMPLATES[study] = template
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_TEMPLATES[study], path)
    return path


@pytest.fixture
def study_db(backend, tmp_path, request):
    """An empty study with the default schedule, codebook and indicators: a connection to `tmp_path/test.duckdb`
    (copied from the process's template), or to a new PostgreSQL database where the module runs on both."""
    study = Study("Test study", dt.date(2025, 1, 1), dt.date(2026, 6, 30), "Test funder")
    if backend == "duckdb":
        con = storage.connect(_new_study_file(tmp_path / "test.duckdb", study))
    else:
        con = storage.connect(request.getfixturevalue("database"))
        service.init_study(con, study)
    yield con
    con.close()


def make_empty_study(path, start=dt.date(2025, 1, 1), end=dt.date(2026, 4, 1)):
    """A study with the default schedule, codebook and indicators, and nothing else, in a new file at `path`."""
    return _new_study_file(path, Study("Empty", start, end))


@pytest.fixture
def empty_study(tmp_path):
    """The path of an empty study (no projects, no accounts) running 1 Jan 2025 to 1 Apr 2026."""
    return make_empty_study(tmp_path / "empty.duckdb")


@pytest.fixture(scope="session")
def demo_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    con = storage.connect(path)
    service.load_demo(con, today=DEMO_TODAY)
    con.close()
    return path


@pytest.fixture
def seeded_path(demo_file, tmp_path):
    """A private copy of the demo database that a test may change."""
    path = tmp_path / "seeded.duckdb"
    shutil.copy(demo_file, path)
    return path


@pytest.fixture(scope="session")
def demo_template():
    """The demo study in a PostgreSQL database that tests copy (CREATE DATABASE … TEMPLATE), built once."""
    server = postgres.server_or_skip()
    url = postgres.create_database(server)
    con = storage.connect(url)
    service.load_demo(con, today=DEMO_TODAY)
    con.close()
    yield postgres.name_of(url)
    postgres.drop_database(url)


@pytest.fixture(scope="module")
def demo_database(backend, request):
    """The demo study for a module's reads, which must not change it: the session's file, or a PostgreSQL copy."""
    if backend == "duckdb":
        yield request.getfixturevalue("demo_file")
        return
    url = postgres.create_database(postgres.server_or_skip(), template=request.getfixturevalue("demo_template"))
    yield url
    postgres.drop_database(url)


@pytest.fixture
def seeded_database(backend, request, tmp_path):
    """A private copy of the demo study that a test may change: a file path, or a PostgreSQL URL."""
    if backend == "duckdb":
        yield request.getfixturevalue("seeded_path")
        return
    url = postgres.create_database(postgres.server_or_skip(), template=request.getfixturevalue("demo_template"))
    yield url
    postgres.drop_database(url)


@pytest.fixture
def seeded(seeded_database):
    con = storage.connect(seeded_database)
    yield con
    con.close()


@pytest.fixture(scope="module")
def browser():
    """Chromium for one test module's browser tests (Playwright); skips where there is none, unless CI asks."""
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# Minutes rather than seconds: `python -m pytest -m "not slow"` leaves these out (CI runs everything).
SLOW_MODULES = {"test_load", "test_benchmark", "test_import_scale", "test_large_portfolio_pages"}

# Each test's recorded time (setup, call and teardown, in seconds), as `--record-durations` last wrote it. Tests
# recorded at SLOW_SECONDS or more are `slow` too: the longest quarter, nine tenths of the run's time. Recorded on
# this shared 2-core machine with two test processes and other jobs running, so about 3× an idle machine's time.
DURATIONS = Path(__file__).with_name("durations.json")
SLOW_SECONDS = 1.5


def pytest_addoption(parser):
    parser.addoption(
        "--record-durations",
        action="store_true",
        help=f"write each test's time to {DURATIONS.name} (which decides the slow tests), keeping the others'",
    )


def _recorded_durations() -> dict[str, float]:
    return json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}


def _as_recorded(nodeid: str) -> str:
    """A PostgreSQL variant is as slow as its DuckDB twin (recordings are made where either may be missing)."""
    return nodeid.replace("[postgres", "[duckdb")


def pytest_collection_modifyitems(config, items):
    """Browser suites, the load test, the benchmark, scale imports and 440-project pages are `slow`, as is any
    property test whose Hypothesis settings ask for more than 100 examples, and any test recorded at SLOW_SECONDS
    or more. When the run leaves the slow tests out (`-m "not slow"`), the remaining property tests draw at most
    FAST_LOOP_EXAMPLES examples each."""
    fast_loop = "not slow" in (config.option.markexpr or "")
    recorded = _recorded_durations()
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if item.module else ""
        test = getattr(item, "obj", None)
        settings = getattr(test, "_hypothesis_internal_use_settings", None)
        many_examples = settings is not None and settings.max_examples > 100
        long = recorded.get(_as_recorded(item.nodeid), 0.0) >= SLOW_SECONDS
        if item.get_closest_marker("browser") or module in SLOW_MODULES or many_examples or long:
            item.add_marker(pytest.mark.slow)
        elif fast_loop and settings is not None and settings.max_examples > FAST_LOOP_EXAMPLES:
            test._hypothesis_internal_use_settings = type(settings)(settings, max_examples=FAST_LOOP_EXAMPLES)


@pytest.fixture
def cfir_path(tmp_path):
    """A study on the CFIR 2.0 codebook (0 and X declared), built by `tests/support/cfir_study.py`."""
    path = tmp_path / "cfir.duckdb"
    cfir_study.build(path)
    return path


@pytest.fixture
def cfir(cfir_path):
    con = storage.connect(cfir_path)
    yield con
    con.close()


_durations: dict[str, float] = {}


def pytest_runtest_logreport(report):
    """Sums each test's phases (on the controlling process too when the run is spread over processes)."""
    if not report.skipped:
        _durations[report.nodeid] = _durations.get(report.nodeid, 0.0) + report.duration


def pytest_sessionfinish(session):
    if not session.config.getoption("--record-durations") or hasattr(session.config, "workerinput"):
        return
    recorded = _recorded_durations() | {node: round(seconds, 2) for node, seconds in _durations.items()}
    DURATIONS.write_text(json.dumps(dict(sorted(recorded.items())), indent=0) + "\n")
