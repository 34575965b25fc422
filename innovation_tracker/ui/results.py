"""The results of reads and page views, kept until the data changes.

Every write is audited, so the newest audit id is a version number for the whole database (`storage.data_version`).
Results are kept for the newest version only: the first read that sees a newer version drops the rest, which are
stale. Keys are plain Python values (the query's name, the database, the viewer, the arguments), so a hit costs a
dictionary lookup, not the hashing and unpickling of Streamlit's `cache_data`, which cost a page more than its
drawing once the tables are large.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class ResultCache:
    def __init__(self, max_entries: int = 256) -> None:
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._version: int | None = None
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._building: dict[tuple[int, Hashable], threading.Lock] = {}

    def _lookup(self, version: int, key: Hashable) -> tuple[bool, Any]:
        with self._lock:
            if self._version is None or version > self._version:
                self._entries.clear()
                self._version = version
            if version == self._version and key in self._entries:
                self._entries.move_to_end(key)
                return True, self._entries[key]
            return False, None

    def get(self, version: int, key: Hashable, build: Callable[[], Any]) -> Any:
        """The result for `key` at `version`, built when absent. Sessions asking for the same result at once wait
        for one build instead of each making its own (under load, after every save, they all ask at once); builds
        of different results run side by side. A result built for a version older than the newest seen is returned
        but not kept."""
        found, value = self._lookup(version, key)
        if found:
            return value
        with self._lock:
            building = self._building.setdefault((version, key), threading.Lock())
        with building:
            found, value = self._lookup(version, key)
            if found:
                return value
            try:
                value = build()
                with self._lock:
                    if version == self._version:
                        self._entries[key] = value
                        while len(self._entries) > self.max_entries:
                            self._entries.popitem(last=False)
            finally:
                with self._lock:
                    self._building.pop((version, key), None)
        return value

    def __len__(self) -> int:
        return len(self._entries)
