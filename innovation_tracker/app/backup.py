"""Backup and restore of a whole database: study, accounts, audit log and the record of applied migrations.

A backup is a folder in the layout of DuckDB's EXPORT DATABASE (schema.sql, load.sql, a Parquet file per table;
storage/backup.py writes it on either backend) plus a manifest with the row count of every table; restore rebuilds
a new database (a DuckDB file, or an empty PostgreSQL database) from it and checks the counts.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import zipfile
from pathlib import Path

from innovation_tracker import storage
from innovation_tracker.app.service import audit
from innovation_tracker.domain.errors import AccessDenied, TrackerError
from innovation_tracker.domain.model import AccountRole, Viewer
from innovation_tracker.formats import tidy
from innovation_tracker.storage.backup import create_backup, restore_backup

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


def backup(con: storage.Connection, viewer: Viewer, out_dir: Path) -> dict[str, int]:
    """Write the whole database into `out_dir` (new or empty); the row count of every table. Admins only."""
    if viewer.role != AccountRole.ADMIN:
        raise AccessDenied("Only admins can back up the database: a backup holds every account and identity.")
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise TrackerError(f"{out_dir} is not empty; choose a new folder for the backup")
    # Audited first, so the backup holds the entry that records it and a restore is identical to the original.
    audit(con, viewer, "export", "backup", out_dir.name, {"folder": str(out_dir)})
    counts = create_backup(con, out_dir)
    manifest = {
        "format": FORMAT_VERSION,
        "schema_version": storage.schema_version(con),
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "created_by": viewer.username,
        "tables": counts,
    }
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return counts


def backup_zip(con: storage.Connection, viewer: Viewer) -> bytes:
    """The backup as one zip file, for a download."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "backup"
        backup(con, viewer, folder)
        return tidy.zip_files({p.name: p.read_bytes() for p in sorted(folder.iterdir())})


def restore(source: Path, target: str | Path) -> dict[str, int]:
    """A new database at `target` from a backup folder (or its zip) made on either backend: a DuckDB file that
    does not exist yet, or a new, empty PostgreSQL database (a `postgresql://` URL). Never overwrites."""
    source = Path(source)
    if not storage.is_postgres(str(target)) and Path(target).exists():
        raise TrackerError(f"{target} already exists; restore into a new file so nothing is overwritten")
    if source.is_file() and zipfile.is_zipfile(source):
        with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(source) as archive:
            archive.extractall(tmp)
            return _restore_folder(Path(tmp), target)
    return _restore_folder(source, target)


def _restore_folder(folder: Path, target: str | Path) -> dict[str, int]:
    manifest = read_manifest(folder)
    newest = max(version for version, _, _ in storage.shipped_migrations())
    if manifest["schema_version"] > newest:
        raise TrackerError(
            f"the backup was made by a newer version of the tracker (schema {manifest['schema_version']}, "
            f"this one knows up to {newest}); upgrade before restoring"
        )
    counts = restore_backup(target, folder, version=manifest["schema_version"], expected=manifest["tables"])
    # Brings a backup from an older version up to date, as opening any database does. No session survives a
    # restore: one revoked (logged out, or its account changed) after the backup was taken must not come back.
    con = storage.connect(target if storage.is_postgres(str(target)) else Path(target))
    try:
        storage.write(con, storage.forget_all_sessions)
    finally:
        con.close()
    return counts


def read_manifest(folder: Path) -> dict:
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise TrackerError(f"{folder} is not a backup: it has no {MANIFEST}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        int(manifest["schema_version"])
        dict(manifest["tables"])
    except (ValueError, KeyError, TypeError) as exc:
        raise TrackerError(f"{path} is damaged: {exc}") from exc
    return manifest
