"""The shelf: kept frames stored in the database for the other servers and for restarts (PostgreSQL only).

A portfolio-wide kept read (`kept_by_project`) is built once per process and then brought up to date after each
write by re-reading only the projects written since. On PostgreSQL at S = 1000 the first build of the citations or
of the agreement counts takes 3–6 s, and every server, and every server again after a restart, paid for it. So a
build that took long is also put on the shelf (a table in a schema of its own, never in a backup), with the data
version it was read at; a server that has no such frame in memory takes the shelf's and brings it up to date the
same way, re-reading only the projects written since.

What is taken from the shelf is exactly what the read would give:
- the key is the kept read's key (its name, its arguments, and the viewer's scope under the access rules) with the
  code that made it (`shelf_code`: a hash of this package's source and of the libraries that shape a frame), so a
  frame made under other access rules or other code is never served;
- a frame is put there only if it comes back from its bytes equal, types included;
- the frame's data version is checked against the audit log: the entry with that id must still be the one that was
  newest when the frame was read (its time and actor), or the database was replaced (a restore, another study) and
  the frame is not used;
- erasing a participant empties the shelf (`forget`): nothing they said may stay behind in a stored frame; and a
  frame whose read began before an erasure, or while it was under way, is not stored after it (`shelf_put` looks
  for an erasure since the frame's version in the transaction that would store it).
"""

from __future__ import annotations

import hashlib
import io
import logging
import time
from collections.abc import Callable, Hashable
from typing import Any

import pandas as pd
import pyarrow as pa

from innovation_tracker.storage.code_version import shelf_code
from innovation_tracker.storage.db import data_version

_log = logging.getLogger(__name__)

# Builds quicker than this are not shelved: reading them again costs less than the round trip and the check.
WORTH_SHELVING_S = 0.25
# A frame brought up to date over this many audit entries is shelved again at the newer version.
RESHELVE_AFTER = 200


def available(con: Any) -> bool:
    """Whether `con` reaches a database with a shelf (PostgreSQL, where this role could make one)."""
    database = getattr(con, "database", None)
    return bool(getattr(database, "shelf_ready", False))


def through(
    con: Any,
    key: Hashable,
    build: Callable[[], Any],
    refresh: Callable[[int, int, Any], Any],
) -> Any:
    """The kept read's value at the database's current version: from the shelf (brought up to date by `refresh`)
    when a frame of `key` is there, else built, and shelved when building it took long."""
    name = digest(key)
    version = data_version(con)  # read before the frame: what it reads includes at least every write up to here
    stored = _quietly(con.database.shelf_get, name)
    if stored is not None:
        at, stamp, payload = stored
        if at <= version and stamp == _stamp(con, at):
            value = _decoded(payload)
            if value is not None:
                value = value if at == version else refresh(at, version, value)
                if value is not None:
                    if version - at >= RESHELVE_AFTER:  # the next server starts from here, not from that far back
                        _put(con, name, version, value)
                    return value
    started = time.perf_counter()
    value = build()
    if time.perf_counter() - started >= WORTH_SHELVING_S:
        _put(con, name, version, value)
    return value


def _put(con: Any, name: str, version: int, value: Any) -> None:
    payload = encode(value)
    if payload is not None:
        _quietly(con.database.shelf_put, name, version, _stamp(con, version), payload)


def _quietly(call: Callable[..., Any], *args: Any) -> Any:
    """The shelf only saves time: when it cannot be read or written (a read-only standby, a full disk, a dropped
    schema) the page reads the database as it would without it, and the log says why."""
    try:
        return call(*args)
    except Exception as exc:  # psycopg's errors, and any other: never a page's failure
        _log.warning("The shelf of kept frames was not used: %s", exc)
        return None


def forget(con: Any) -> None:
    """Empty the shelf (after an erasure): the frames were read before it."""
    if available(con):
        con.database.shelf_clear()


def digest(key: Hashable) -> str:
    """The shelf's name for a kept read's key: the same in every process (sets are sorted, hashes not used)."""
    return hashlib.sha256(f"{shelf_code()}\n{_canonical(key)!r}".encode()).hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, frozenset | set):
        return ("set", tuple(sorted((_canonical(v) for v in value), key=repr)))
    if isinstance(value, tuple | list):
        return tuple(_canonical(v) for v in value)
    return value


def _stamp(con: Any, version: int) -> str:
    """What says the audit entry `version` is the one it was (its time and actor); '' before the first."""
    row = con.execute("SELECT changed_at, actor FROM audit_entry WHERE audit_id = ?", [version]).fetchone()
    return "" if row is None else f"{row[0].isoformat()} {row[1]}"


def encode(value: Any) -> bytes | None:
    """A frame, or a dict of frames, as Arrow IPC bytes; None when it would not come back equal."""
    frames = value if isinstance(value, dict) else {"": value}
    if not frames or not all(isinstance(f, pd.DataFrame) for f in frames.values()):
        return None
    try:
        parts = [_ipc(pa.Table.from_pandas(frame, preserve_index=True)) for frame in frames.values()]
        payload = _ipc(pa.table({"name": list(frames), "frame": pa.array(parts, pa.large_binary())}))
    except (pa.ArrowException, TypeError, ValueError, OverflowError) as exc:
        _log.debug("Not shelved: %s", exc)
        return None
    back = _decoded(payload)
    if back is None or not _same(value, back):
        return None
    return payload


def _decoded(payload: bytes) -> Any:
    try:
        outer = _table(payload)
        frames = {
            name: _table(part).to_pandas()
            for name, part in zip(outer.column("name").to_pylist(), outer.column("frame").to_pylist(), strict=True)
        }
    except (pa.ArrowException, ValueError, TypeError) as exc:
        _log.warning("A shelved frame could not be read: %s", exc)
        return None
    return frames[""] if list(frames) == [""] else frames


def _same(value: Any, back: Any) -> bool:
    frames = value if isinstance(value, dict) else {"": value}
    backs = back if isinstance(back, dict) else {"": back}
    if list(frames) != list(backs):
        return False
    for name, frame in frames.items():
        other = backs[name]
        if (
            list(frame.columns) != list(other.columns)
            or frame.dtypes.tolist() != other.dtypes.tolist()
            or not frame.index.equals(other.index)
            or frame.index.dtype != other.index.dtype
            or not frame.equals(other)
        ):
            return False
    return True


def _ipc(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema, options=pa.ipc.IpcWriteOptions(compression="zstd")) as writer:
        writer.write_table(table)
    return sink.getvalue()


def _table(payload: bytes) -> pa.Table:
    with pa.ipc.open_stream(payload) as reader:
        return reader.read_all()
