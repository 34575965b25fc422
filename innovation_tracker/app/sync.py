"""The plan stage of an import: which checked rows are new, unchanged or changed against what the study holds.

A team re-imports its cumulative export every month. A row whose key is stored with the same values is unchanged
(counted, not written again); a row whose key is stored with other values is a change, refused unless the user
asks for updates, and then written as an audited edit; stored rows the file no longer holds are counted, never
deleted. `plan` makes the plan; `storage` writes exactly it (see `service.apply_import`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from innovation_tracker import storage
from innovation_tracker.domain.errors import Problem
from innovation_tracker.formats import tidy
from innovation_tracker.formats.importer import MAX_PROBLEMS, Origin

# Tables an import may only repeat as they are stored (the study's set-up): identical is unchanged, anything
# else was already refused by the checks.
REFERENCE_TABLES = ("study", "waves", "codebook", "indicators")


@dataclass
class TablePlan:
    table: str
    new: pd.DataFrame
    changed: pd.DataFrame
    unchanged: int = 0
    absent: int = 0
    changes: list[Problem] = field(default_factory=list)
    differences: list[dict] = field(default_factory=list)  # a row per changed value: where, key, stored → file
    unlisted_changes: int = 0  # changed rows past the first MAX_PROBLEMS, which `changes` does not list


@dataclass
class Plan:
    """What an import would do, table by table; written as it stands or not at all."""

    tables: dict[str, TablePlan]
    update: bool
    source: str = ""
    notices: list[str] = field(default_factory=list)
    version: int = 0  # the study's data version the plan was made against

    @property
    def refused(self) -> list[Problem]:
        """The changes, when updates were not asked for: each one names its row, its key and what differs."""
        return [] if self.update else [p for t in self.tables.values() for p in t.changes]

    @property
    def writes(self) -> int:
        return sum(len(t.new) + (len(t.changed) if self.update else 0) for t in self.tables.values())

    def differences(self) -> pd.DataFrame:
        """Each changed value of the (first) changed rows: file, row, key, column, stored value, value in the file."""
        rows = [d for t in self.tables.values() for d in t.differences]
        columns = ["File", "Row", "Key", "Column", "Stored", "In the file"]
        return pd.DataFrame(rows, columns=columns)

    def summary(self) -> pd.DataFrame:
        """Per table: rows new / unchanged / changed / refused, and stored rows the files do not hold."""
        rows = []
        for name, t in self.tables.items():
            changed = len(t.changed)
            rows.append(
                {
                    "Table": name.replace("_", " "),
                    "New": len(t.new),
                    "Unchanged": t.unchanged,
                    "Changed": changed if self.update else 0,
                    "Refused": 0 if self.update else changed,
                    "Stored but absent from the file": t.absent,
                }
            )
        return pd.DataFrame(rows)

    def lines(self) -> list[str]:
        """The plan in words, a line per table (the CLI prints these)."""
        out = []
        for row in self.summary().itertuples(index=False):
            text = (
                f"{row.Table}: {row.New} new, {row.Unchanged} unchanged, {row.Changed} changed, {row.Refused} refused"
            )
            if row[-1]:
                text += f"; stored but absent from the file: {row[-1]}"
            out.append(text)
        return out


def plan(
    con: storage.Connection,
    checked: dict[str, pd.DataFrame],
    given: dict[str, int],
    origins: dict[str, Origin],
    *,
    update: bool,
    flagged: Callable[[str], dict[str, np.ndarray]] | None = None,
) -> Plan:
    """Checked (typed) tables against the stored rows with the same keys. Rows that broke rules are compared too,
    on their other cells (`flagged(table)`: column -> the positions of the cells that broke a rule), so that a
    refusal can name every row stored with other values together with every other problem."""
    tables: dict[str, TablePlan] = {}
    for table in tidy.TABLES:
        if table not in given or table not in checked:
            continue
        frame = checked[table]
        if table in REFERENCE_TABLES:
            stored_already = frame.empty
            tables[table] = TablePlan(table, frame, frame.iloc[0:0], unchanged=given[table] if stored_already else 0)
            continue
        bad = _cells(flagged(table) if flagged else {}, len(frame))
        frame = _blanked(frame.reset_index(drop=True), bad)
        status, before, absent = storage.compare_rows(con, table, frame)
        new = frame[status.to_numpy() == 0].reset_index(drop=True)
        if table == "milestones" and len(new):
            top = storage.max_milestone_id(con)
            new = new.assign(milestone_id=range(top + 1, top + 1 + len(new)))
        changed_pos = np.flatnonzero(status.to_numpy() == 2)
        changed = frame.iloc[changed_pos].reset_index(drop=True)
        changes, differences = _describe(table, frame, before, origins.get(table), bad)
        tables[table] = TablePlan(
            table,
            new,
            changed,
            int((status == 1).sum()),
            absent,
            changes=changes,
            differences=differences,
            unlisted_changes=max(0, len(before) - MAX_PROBLEMS),
        )
    return Plan(tables, update, version=storage.data_version(con))


def _cells(flagged: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    """Column -> a mask over the table's rows of the cells that broke a rule."""
    masks = {}
    for column, positions in flagged.items():
        mask = np.zeros(n, dtype=bool)
        mask[positions[(positions >= 0) & (positions < n)]] = True
        masks[column] = mask
    return masks


def _blanked(frame: pd.DataFrame, bad: dict[str, np.ndarray]) -> pd.DataFrame:
    """`frame` without the values of the cells that broke a rule (a rating of 300 would not even fit the stored
    column): each is named by its own problem, and compared with nothing."""
    columns = [c for c in bad if c in frame.columns and bad[c].any()]
    if not columns:
        return frame
    frame = frame.copy()
    for column in columns:
        values = frame[column]
        if pd.api.types.is_bool_dtype(values):
            values = values.astype("boolean")
        frame[column] = values.mask(bad[column])
    return frame


def _describe(table: str, frame: pd.DataFrame, before: pd.DataFrame, origin: Origin | None, bad: dict[str, np.ndarray]):
    """One problem per changed row (the first MAX_PROBLEMS): where it is, its key, and stored → incoming; and the
    same as a row per changed value. A cell that broke a rule is not a difference: its own problem names it."""
    if before.empty:
        return [], []
    keys = storage.KEYS[table]
    columns = storage.compared_columns(table)
    shown = before.head(MAX_PROBLEMS)
    positions = shown["_pos"].to_numpy()
    incoming = frame.iloc[positions].reset_index(drop=True)
    stored_text = {c: tidy.as_text(shown[c].reset_index(drop=True)) for c in columns}
    incoming_text = {c: tidy.as_text(incoming[c]) for c in columns}
    key_text = {k: tidy.as_text(incoming[k]) for k in keys}
    problems, differences = [], []
    for n, pos in enumerate(positions):
        differ = [c for c in columns if stored_text[c].iloc[n] != incoming_text[c].iloc[n]]
        valid = [c for c in differ if not (c in bad and bad[c][pos])]
        if differ and not valid:
            continue  # it differs only where it broke a rule (blanked: its own problem names it)
        differ = valid
        diffs = [f"{c} {_shown(stored_text[c].iloc[n])} → {_shown(incoming_text[c].iloc[n])}" for c in differ]
        key = ", ".join(f"{k} {key_text[k].iloc[n]}" for k in keys)
        file, row = origin.at(int(pos)) if origin else (f"{table}.csv", int(pos) + 2)
        fields = origin.fields if origin else {}
        differences += [
            {"File": file, "Row": row, "Key": key, "Column": fields.get(c, c),
             "Stored": stored_text[c].iloc[n], "In the file": incoming_text[c].iloc[n]}
            for c in differ
        ]  # fmt: skip
        message = (
            f"{key} is stored with other values ({'; '.join(diffs) or 'a value differs'}): "
            "import with --update (or choose 'apply changes') to change the stored row"
        )
        field_name = fields.get(keys[-1], keys[-1])
        problems.append(Problem("changed", message, field_name, row, file, key_text[keys[-1]].iloc[n]))
    return problems, differences


def _shown(text: str) -> str:
    return f"'{text}'" if text else "(blank)"
