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
    def __init__(self, max_entries: int = 256, max_refreshable: int = 64) -> None:
        self.max_entries, self.max_refreshable = max_entries, max_refreshable
        self._lock = threading.Lock()
        self._version: int | None = None
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._building: dict[tuple[int, Hashable], threading.Lock] = {}
        # The newest value of each result that can be brought up to date rather than rebuilt, with its version.
        self._refreshable: OrderedDict[Hashable, tuple[int, Any]] = OrderedDict()

    def _lookup(self, version: int, key: Hashable) -> tuple[bool, Any]:
        with self._lock:
            if self._version is None or version > self._version:
                self._entries.clear()
                self._version = version
            if version == self._version and key in self._entries:
                self._entries.move_to_end(key)
                return True, self._entries[key]
            return False, None

    def get(
        self,
        version: int,
        key: Hashable,
        build: Callable[[], Any],
        refresh: Callable[[int, int, Any], Any] | None = None,
    ) -> Any:
        """The result for `key` at `version`, built when absent. Sessions asking for the same result at once wait
        for one build instead of each making its own (under load, after every save, they all ask at once); builds
        of different results run side by side. A result built for a version older than the newest seen is returned
        but not kept.

        With `refresh`, the result's value at an earlier version, when kept, is brought up to date by
        `refresh(earlier_version, version, earlier_value)` instead of built afresh (storage/kept.py re-reads only
        the projects written since); `refresh` answers None when it cannot, and then the result is built."""
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
                value = None
                if refresh is not None:
                    with self._lock:
                        earlier = self._refreshable.get(key)
                    if earlier is not None and earlier[0] < version:
                        value = refresh(earlier[0], version, earlier[1])
                if value is None:
                    value = build()
                with self._lock:
                    if version == self._version:
                        self._entries[key] = value
                        while len(self._entries) > self.max_entries:
                            self._entries.popitem(last=False)
                        if refresh is not None:
                            self._refreshable[key] = (version, value)
                            self._refreshable.move_to_end(key)
                            while len(self._refreshable) > self.max_refreshable:
                                self._refreshable.popitem(last=False)
            finally:
                with self._lock:
                    self._building.pop((version, key), None)
        return value

    def __len__(self) -> int:
        return len(self._entries)
