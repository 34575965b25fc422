"""Which code made a stored result: a hash of this package's source and of the versions of the libraries that
shape a frame. Two servers running the same release agree on it; any change to the code, the access rules among it,
gives another (storage/shelf.py)."""

from __future__ import annotations

import functools
import hashlib
from importlib import metadata
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
LIBRARIES = ("pandas", "pyarrow", "numpy", "psycopg", "duckdb")


@functools.cache
def shelf_code() -> str:
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*")):
        if path.suffix in (".py", ".sql") and path.is_file():
            digest.update(path.relative_to(PACKAGE).as_posix().encode())
            digest.update(path.read_bytes())
    for library in LIBRARIES:
        try:
            digest.update(f"{library}={metadata.version(library)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{library}=absent".encode())
    return digest.hexdigest()[:16]
