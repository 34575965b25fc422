"""The layout tells the truth: UI, domain and storage stay apart, and CI proves it."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_linter_contracts_hold():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    result = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 5 kept, 0 broken" in result.stdout


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_pages_and_the_entry_point_never_touch_duckdb():
    files = [ROOT / "dashboard.py", *sorted((ROOT / "pages").glob("*.py"))]
    assert len(files) > 1
    for path in files:
        assert "duckdb" not in imported_modules(path), path.name


def test_sql_lives_only_in_the_storage_layer():
    for path in (ROOT / "innovation_tracker").rglob("*.py"):
        if "storage" in path.parts:
            continue
        assert "duckdb" not in imported_modules(path), path
