"""The app's own exceptions. The UI and the CLI show these; nothing else leaks out."""

from __future__ import annotations

from dataclasses import dataclass


class TrackerError(Exception):
    """Base class: a message a user can act on."""

    title = "Something went wrong"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Problem:
    """One broken rule, located as precisely as we can (file, row, field)."""

    rule: str
    message: str
    field: str | None = None
    row: int | None = None
    file: str | None = None
    value: object = None

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field:
            where.append(self.field)
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class ValidationError(TrackerError):
    """One or more rules were broken; nothing was saved."""

    title = "Not saved: please fix the highlighted fields"

    def __init__(self, problems: list[Problem] | Problem):
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        super().__init__(
            "; ".join(str(p) for p in self.problems[:20])
            + (f" (and {len(self.problems) - 20} more)" if len(self.problems) > 20 else "")
        )

    def for_field(self, name: str) -> list[Problem]:
        return [p for p in self.problems if p.field == name]


class NotFound(TrackerError):
    title = "Not found"


class ConflictError(TrackerError):
    title = "Someone else saved at the same moment"


class StorageError(TrackerError):
    title = "The database could not do that"


class DatabaseUnavailable(StorageError):
    """The database file cannot be used as it is (held by another program, damaged, newer, or the disk is full)."""

    title = "The database is not available"


class AccessDenied(TrackerError):
    title = "Not allowed"


class EditConflict(TrackerError):
    """The record was saved by someone else after the form was opened (its version moved on); nothing was saved."""

    title = "Someone else saved this meanwhile"

    def __init__(self, entity: str, key: str, version: int, by: str | None, at: object):
        self.entity, self.key, self.version, self.by, self.at = entity, key, version, by, at
        super().__init__(f"{entity} {key} is at version {version} now, saved by {by} at {at}")
