"""Study records written one at a time from the data-entry pages, and the reads those pages need.

Every write is one `write(con, work)`: a transaction, retried on a conflict with a concurrent writer, that also
appends an audit entry with the values before and after (so every cached read refreshes). A delete keeps the
full rows it removed, children included, in the entry's `before`, which is what `restore_deleted` puts back.
Codes and ids are fixed once anything refers to them (DuckDB cannot update a referenced key), so updates touch
other columns only, and an interview's ratings are replaced by deleting and inserting them.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from functools import partial

import duckdb
import pandas as pd

from innovation_tracker.domain.errors import ConflictError, EditConflict, NotFound, Problem, ValidationError
from innovation_tracker.domain.model import Viewer
from innovation_tracker.storage import shelf
from innovation_tracker.storage.access import query, query_rows, scoped_read
from innovation_tracker.storage.db import Connection, record_audit, write
from innovation_tracker.storage.study import STORED

COLUMNS = {target: columns for target, columns in STORED.values()}
KEYS = {
    "project": ("project_code",),
    "participant": ("participant_code",),
    "interview": ("interview_id",),
    "factor_rating": ("interview_id", "factor_code"),
    "indicator_value": ("project_code", "wave", "indicator_code"),
    "milestone": ("milestone_id",),
    "user_project": ("username", "project_code"),
    "participant_contact": ("participant_code",),
    "coding": ("interview_id", "coding"),
    "coding_rating": ("interview_id", "coding", "factor_code"),
    "consensus": ("interview_id", "factor_code"),
}
COLUMNS["user_project"] = KEYS["user_project"]
# Double coding (migration 0009): both independent codings and the consensus go and come back with their interview.
COLUMNS["coding"] = ("interview_id", "coding", "coder", "started_at", "saved_at")
COLUMNS["coding_rating"] = ("interview_id", "coding", "factor_code", "rating", "evidence", "shareable", "mixed")
COLUMNS["consensus"] = ("interview_id", "factor_code", "rating", "reason", "decided_by", "decided_at", "mixed")
CODING_TABLES = ("coding", "coding_rating", "consensus")
CONTACT_COLUMNS = ("telephone", "email", "call_times")
COLUMNS["participant_contact"] = ("participant_code", *CONTACT_COLUMNS)
# Parents before children: the order rows are restored in (and the reverse of the order they are deleted in).
TREE_ORDER = (
    "project", "participant", "participant_contact", "interview", "factor_rating", *CODING_TABLES, "indicator_value",
    "milestone", "user_project",
)  # fmt: skip
RESTORABLE = ("project", "participant", "interview", "milestone")
LEAVES = ("participant_contact", "factor_rating", *CODING_TABLES, "indicator_value", "milestone", "user_project")


def _rows(con: Connection, sql: str, params: list | None = None) -> list[dict]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _one(con: Connection, table: str, key: tuple) -> dict | None:
    where = " AND ".join(f"{c} = ?" for c in KEYS[table])
    found = _rows(con, f"SELECT {', '.join(COLUMNS[table])} FROM {table} WHERE {where}", list(key))
    return found[0] if found else None


def _existing(con: Connection, table: str, key: tuple, what: str) -> dict:
    row = _one(con, table, key)
    if row is None:
        raise NotFound(f"{what} {'/'.join(map(str, key))} does not exist (deleted by someone else?)")
    return row


def _insert(con: Connection, table: str, row: dict) -> None:
    unknown = set(row) - set(COLUMNS[table])
    if unknown:
        raise ValueError(f"{table} has no columns {sorted(unknown)}")
    names = list(row)
    marks = ", ".join("?" for _ in names)
    con.execute(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})", [row[n] for n in names])


def _update(con: Connection, table: str, key: tuple, changes: dict) -> None:
    fixed = set(changes) & set(KEYS[table])
    if fixed or set(changes) - set(COLUMNS[table]):
        raise ValueError(f"{table}: cannot change {sorted(set(changes) - set(COLUMNS[table]) | fixed)}")
    if not changes:
        return
    sets = ", ".join(f"{c} = ?" for c in changes)
    where = " AND ".join(f"{c} = ?" for c in KEYS[table])
    con.execute(f"UPDATE {table} SET {sets} WHERE {where}", [*changes.values(), *key])


def _delete_tree(con: Connection, tree: dict[str, list[dict]]) -> None:
    for table in reversed(TREE_ORDER):
        for row in tree.get(table, []):
            where = " AND ".join(f"{c} = ?" for c in KEYS[table])
            con.execute(f"DELETE FROM {table} WHERE {where}", [row[c] for c in KEYS[table]])


def _json_safe(row: dict) -> dict:
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in row.items()}


def _check_version(con: Connection, actor: str, entity: str, key: str, expected: int | None) -> int:
    """Raise the record's version inside the caller's transaction; with `expected`, first check that nobody saved
    it since the form was opened. Two sessions saving at once both update this row, so DuckDB lets one of them
    commit and the other retries (`write`), finds the version moved on and raises EditConflict."""
    found = con.execute(
        "SELECT version, changed_by, changed_at FROM record_version WHERE entity = ? AND entity_key = ?", [entity, key]
    ).fetchone()
    current = found[0] if found else 0
    if expected is not None and current != expected:
        raise EditConflict(entity, key, current, found[1] if found else None, found[2] if found else None)
    try:
        con.execute(
            "INSERT INTO record_version (entity, entity_key, version, changed_by) VALUES (?, ?, ?, ?)"
            " ON CONFLICT DO UPDATE SET version = excluded.version, changed_by = excluded.changed_by,"
            " changed_at = now()",
            [entity, key, current + 1, actor],
        )
    except duckdb.ConstraintException as exc:
        # A concurrent first save of the same record committed its version row after our snapshot: retry.
        raise ConflictError(f"{entity} {key} was saved by a concurrent writer") from exc
    return current + 1


def add_project(con: Connection, actor: str, project: dict) -> None:
    def work(cur):
        _insert(cur, "project", project)
        record_audit(cur, actor, "create", "project", project["project_code"], after=_json_safe(project))

    write(con, work)


def _update_audited(
    con: Connection, actor: str, table: str, key: object, label: str, changes: dict, version: int | None = None
) -> None:
    """Change a row's non-key columns, auditing the whole row before and after, in one transaction. With
    `version`, the row must still be at that version (see `_check_version`)."""

    def work(cur):
        before = _existing(cur, table, (key,), label)
        if table in VERSIONED:
            _check_version(cur, actor, table, str(key), version)
        _update(cur, table, (key,), changes)
        record_audit(cur, actor, "update", table, str(key), before=before, after=_one(cur, table, (key,)))

    write(con, work)


VERSIONED = ("project", "participant", "interview", "sustainability")


def update_project(
    con: Connection, actor: str, project_code: str, changes: dict, *, version: int | None = None
) -> None:
    _update_audited(con, actor, "project", project_code, "Project", changes, version)


def _project_tree(con: Connection, project_code: str) -> dict[str, list[dict]]:
    people = "SELECT participant_code FROM participant WHERE project_code = ?"
    interviews = f"SELECT interview_id FROM interview WHERE participant_code IN ({people})"
    return {
        "project": [_existing(con, "project", (project_code,), "Project")],
        "participant": _select(con, "participant", f"participant_code IN ({people})", [project_code]),
        "participant_contact": _select(con, "participant_contact", f"participant_code IN ({people})", [project_code]),
        "interview": _select(con, "interview", f"interview_id IN ({interviews})", [project_code]),
        "factor_rating": _select(con, "factor_rating", f"interview_id IN ({interviews})", [project_code]),
        **{t: _select(con, t, f"interview_id IN ({interviews})", [project_code]) for t in CODING_TABLES},
        "indicator_value": _select(con, "indicator_value", "project_code = ?", [project_code]),
        "milestone": _select(con, "milestone", "project_code = ?", [project_code]),
        "user_project": _select(con, "user_project", "project_code = ?", [project_code]),
    }


def _select(con: Connection, table: str, where: str, params: list) -> list[dict]:
    order = ", ".join(KEYS[table])
    return _rows(con, f"SELECT {', '.join(COLUMNS[table])} FROM {table} WHERE {where} ORDER BY {order}", params)


def _participant_tree(con: Connection, participant_code: str) -> dict[str, list[dict]]:
    interviews = "SELECT interview_id FROM interview WHERE participant_code = ?"
    return {
        "participant": [_existing(con, "participant", (participant_code,), "Participant")],
        "participant_contact": _select(con, "participant_contact", "participant_code = ?", [participant_code]),
        "interview": _select(con, "interview", "participant_code = ?", [participant_code]),
        "factor_rating": _select(con, "factor_rating", f"interview_id IN ({interviews})", [participant_code]),
        **{t: _select(con, t, f"interview_id IN ({interviews})", [participant_code]) for t in CODING_TABLES},
    }


def _interview_tree(con: Connection, interview_id: int) -> dict[str, list[dict]]:
    return {
        "interview": [_existing(con, "interview", (interview_id,), "Interview")],
        "factor_rating": _select(con, "factor_rating", "interview_id = ?", [interview_id]),
        **{t: _select(con, t, "interview_id = ?", [interview_id]) for t in CODING_TABLES},
    }


def _delete(con: Connection, actor: str, entity: str, key: str, tree_of) -> dict[str, int]:
    """Delete a record and its children, keeping all of them in the audit entry's `before`.

    DuckDB refuses to delete a row in the transaction that deleted the rows referring to it, so a tree goes level
    by level, each level its own transaction: first the leaves together with the audit entry (so from then on the
    whole tree can be restored), then interviews, participants, the project. A run cut short between levels
    leaves valid data behind, and `restore_deleted` puts back whatever went.
    """

    def leaves_and_audit(cur):
        tree = tree_of(cur)
        _delete_tree(cur, {table: rows for table, rows in tree.items() if table in LEAVES})
        record_audit(cur, actor, "delete", entity, key, before=tree)
        return tree

    tree = write(con, leaves_and_audit)
    for table in ("interview", "participant", "project"):
        if tree.get(table):
            write(con, partial(_delete_tree, tree={table: tree[table]}))
    return {table: len(rows) for table, rows in tree.items() if rows}


def delete_project(con: Connection, actor: str, project_code: str) -> dict[str, int]:
    """Delete a project and everything hanging off it; returns how many rows of each table went."""
    return _delete(con, actor, "project", project_code, lambda cur: _project_tree(cur, project_code))


def add_participant(con: Connection, actor: str, participant: dict, contact: dict | None = None) -> None:
    def work(cur):
        _insert(cur, "participant", participant)
        if contact:
            _set_contact(cur, participant["participant_code"], contact)
        after = _json_safe({**participant, **(contact or {})})
        record_audit(cur, actor, "create", "participant", participant["participant_code"], after=after)

    write(con, work)


def update_participant(
    con: Connection,
    actor: str,
    participant_code: str,
    changes: dict,
    *,
    version: int | None = None,
    contact: dict | None = None,
) -> None:
    """Change a participant's columns and, when `contact` is given, their contact details, in one transaction."""
    if contact is None:
        _update_audited(con, actor, "participant", participant_code, "Participant", changes, version)
        return

    def work(cur):
        before = {
            **_existing(cur, "participant", (participant_code,), "Participant"),
            **_contact(cur, participant_code),
        }
        _check_version(cur, actor, "participant", participant_code, version)
        _update(cur, "participant", (participant_code,), changes)
        _set_contact(cur, participant_code, contact)
        after = {**_one(cur, "participant", (participant_code,)), **_contact(cur, participant_code)}
        record_audit(cur, actor, "update", "participant", participant_code, before=before, after=after)

    write(con, work)


def _contact(con: Connection, participant_code: str) -> dict:
    row = _one(con, "participant_contact", (participant_code,)) or {}
    return {column: row.get(column) for column in CONTACT_COLUMNS}


def _set_contact(con: Connection, participant_code: str, contact: dict) -> None:
    """Keep the participant's contact details as given; a row with none left is deleted."""
    con.execute("DELETE FROM participant_contact WHERE participant_code = ?", [participant_code])
    if any(contact.get(column) for column in CONTACT_COLUMNS):
        row = {"participant_code": participant_code, **{c: contact.get(c) for c in CONTACT_COLUMNS}}
        _insert(con, "participant_contact", row)


def set_contacts(con: Connection, actor: str, contacts: pd.DataFrame) -> int:
    """Store many participants' contact details at once (the demo study), replacing what they had; audited as one
    entry that names how many, not the details."""

    def work(cur):
        cur.register("incoming_contacts", contacts[list(COLUMNS["participant_contact"])])
        try:
            cur.execute(
                "DELETE FROM participant_contact WHERE participant_code IN"
                " (SELECT participant_code FROM incoming_contacts)"
            )
            cur.execute("INSERT INTO participant_contact SELECT * FROM incoming_contacts")
        finally:
            cur.unregister("incoming_contacts")
        record_audit(cur, actor, "update", "participant_contact", None, after={"participants": len(contacts)})
        return len(contacts)

    return write(con, work)


def withdraw_participant(
    con: Connection, actor: str, participant_code: str, withdrawal_date: dt.date, *, version: int | None = None
) -> None:
    """What they said before stays; the schedule marks their later waves withdrawn."""
    changes = {"status": "withdrawn", "withdrawal_date": withdrawal_date}
    update_participant(con, actor, participant_code, changes, version=version)


def erase_participant(con: Connection, actor: str, participant_code: str, withdrawal_date: dt.date) -> int:
    """Withdraw and delete everything they said and how to reach them. The audit keeps only that it happened: no
    before values.

    Their ratings, contact details and any unsaved drafts about them go, their summaries are blanked, and every
    earlier audit entry loses what it recorded of them (`_forget_in_audit`), in one transaction with the withdrawal
    and the audit entry; the emptied interview rows follow in a second one (DuckDB cannot delete both levels at
    once).
    """

    def erase_words(cur):
        tree = _participant_tree(cur, participant_code)
        words = ("factor_rating", *CODING_TABLES, "participant_contact")
        _delete_tree(cur, {table: tree[table] for table in words})
        cur.execute("DELETE FROM form_draft WHERE participant_code = ?", [participant_code])
        cur.execute("UPDATE interview SET summary = NULL WHERE participant_code = ?", [participant_code])
        _update(cur, "participant", (participant_code,), {"status": "withdrawn", "withdrawal_date": withdrawal_date})
        _forget_in_audit(cur, participant_code, {row["interview_id"] for row in tree["interview"]})
        record_audit(cur, actor, "erase", "participant", participant_code)
        return tree["interview"]

    interviews = write(con, erase_words)
    write(con, lambda cur: _delete_tree(cur, {"interview": interviews}))
    shelf.forget(con)  # frames other servers stored were read before the erasure
    return len(interviews)


# Audit entities keyed by an interview id: an erasure empties those about the participant's interviews.
INTERVIEW_ENTITIES = ("interview", "second_coding", "consensus")
# What an audit entry about an erased participant keeps of its values: whose erasure emptied it.
ERASED_KEY = "erased_participant"


def _forget_in_audit(cur, participant_code: str, interview_ids: set[int]) -> None:
    """The one change ever made to past audit entries: an erasure takes the participant's words out of them.

    Entries about the participant or one of their interviews (deleted ones included) keep who did what and when,
    and lose their values; entries that recorded them among other records (a deleted project's tree) lose only
    their rows. Every record of them names their code, or one of their interviews, so those entries are found."""
    rows = cur.execute(
        "SELECT audit_id, entity, entity_key, before::VARCHAR, after::VARCHAR FROM audit_entry"
        " WHERE (entity = 'participant' AND entity_key = $code)"
        " OR contains(before::VARCHAR, $quoted) OR contains(after::VARCHAR, $quoted)"
        " OR (list_contains($entities, entity) AND list_contains($interviews, entity_key))",
        {
            "code": participant_code,
            "quoted": json.dumps(participant_code),
            "entities": list(INTERVIEW_ENTITIES),
            "interviews": sorted(str(i) for i in interview_ids),
        },
    ).fetchall()
    parsed = [(r[0], r[1], r[2], *[None if t is None else json.loads(t) for t in r[3:]]) for r in rows]
    interview_ids = interview_ids | {
        i for *_, before, after in parsed for i in _their_interviews(before, participant_code)
    }
    interview_ids |= {i for *_, after in parsed for i in _their_interviews(after, participant_code)}
    keys = {str(i) for i in interview_ids}
    for audit_id, entity, key, before, after in parsed:
        about_them = (entity, key) == ("participant", participant_code) or (
            entity in INTERVIEW_ENTITIES and key in keys
        )
        kept = [
            None
            if value is None
            else {ERASED_KEY: participant_code}
            if about_them
            else _without(value, participant_code, interview_ids)
            for value in (before, after)
        ]
        cur.execute(
            "UPDATE audit_entry SET before = ?, after = ? WHERE audit_id = ?",
            [None if v is None else json.dumps(v, default=str, sort_keys=True) for v in kept] + [audit_id],
        )


def _their_interviews(value, participant_code: str) -> set[int]:
    """The ids of the participant's interviews that a parsed audit value records."""
    if isinstance(value, dict):
        own = (
            {value["interview_id"]}
            if value.get("participant_code") == participant_code and "interview_id" in value
            else set()
        )
        return own.union(*(_their_interviews(v, participant_code) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_their_interviews(v, participant_code) for v in value))
    return set()


def _without(value, participant_code: str, interview_ids: set[int]):
    """`value` (parsed JSON) without any record of the participant or of their interviews."""
    if isinstance(value, dict):
        return {k: _without(v, participant_code, interview_ids) for k, v in value.items()}
    if isinstance(value, list):
        return [
            _without(v, participant_code, interview_ids)
            for v in value
            if not _theirs(v, participant_code, interview_ids)
        ]
    return value


def _theirs(value, participant_code: str, interview_ids: set[int]) -> bool:
    return isinstance(value, dict) and (
        value.get("participant_code") == participant_code or value.get("interview_id") in interview_ids
    )


def delete_participant(con: Connection, actor: str, participant_code: str) -> dict[str, int]:
    return _delete(con, actor, "participant", participant_code, lambda cur: _participant_tree(cur, participant_code))


def _insert_ratings(con: Connection, interview_id: int, ratings: list[dict]) -> list[dict]:
    rows = [{**r, "interview_id": interview_id} for r in ratings]
    for row in rows:
        _insert(con, "factor_rating", row)
    return rows


def add_interview(
    con: Connection, actor: str, interview: dict, ratings: list[dict], *, draft: tuple[str, str] | None = None
) -> int:
    """Store an interview and its ratings; the new interview's id (max + 1, taken inside the transaction). `draft`
    (username, form) is deleted in the same transaction."""

    def work(cur):
        if draft is not None:
            _drop_draft(cur, *draft)
        interview_id = cur.execute("SELECT coalesce(max(interview_id), 0) + 1 FROM interview").fetchone()[0]
        row = {**interview, "interview_id": interview_id}
        try:
            _insert(cur, "interview", row)
            stored = _insert_ratings(cur, interview_id, ratings)
        except duckdb.ConstraintException as exc:
            # A concurrent writer took the same id and committed after our snapshot: a conflict, so retry.
            if re.search(rf'"interview_id: {interview_id}[",]', str(exc)):
                raise ConflictError(f"interview id {interview_id} was taken by a concurrent save") from exc
            raise
        after = {**_json_safe(row), "ratings": stored}
        record_audit(cur, actor, "create", "interview", str(interview_id), after=after)
        return interview_id

    return write(con, work)


def update_interview(
    con: Connection,
    actor: str,
    interview_id: int,
    changes: dict,
    ratings: list[dict] | None = None,
    *,
    version: int | None = None,
    draft: tuple[str, str] | None = None,
) -> None:
    """Change an interview's non-key columns and, when `ratings` is given, replace its ratings with them. With
    `version`, the interview must still be at that version; `draft` (username, form) is deleted in the same
    transaction."""

    def work(cur):
        tree = _interview_tree(cur, interview_id)
        if ratings is not None and any(
            r["coding"] == 2 and r["coder"] == actor and not r["saved_at"] for r in tree["coding"]
        ):
            # Their reads hide the first coding while they code it blind, so their form would replace it with nothing.
            message = f"{actor} is coding interview {interview_id} blind: save or give up that second coding first"
            raise ValidationError(Problem("blind_coding", message, "ratings"))
        _check_version(cur, actor, "interview", str(interview_id), version)
        _update(cur, "interview", (interview_id,), changes)
        if draft is not None:
            _drop_draft(cur, *draft)
        stored = tree["factor_rating"]
        if ratings is not None:
            _delete_tree(cur, {"factor_rating": stored})
            stored = _insert_ratings(cur, interview_id, ratings)
        before = {**tree["interview"][0], "ratings": tree["factor_rating"]}
        after = {**_one(cur, "interview", (interview_id,)), "ratings": stored}
        record_audit(cur, actor, "update", "interview", str(interview_id), before=before, after=after)

    write(con, work)


def delete_interview(con: Connection, actor: str, interview_id: int) -> dict[str, int]:
    return _delete(con, actor, "interview", str(interview_id), lambda cur: _interview_tree(cur, interview_id))


def set_indicator_values(
    con: Connection,
    actor: str,
    project_code: str,
    wave: str,
    values: dict[str, str | None],
    *,
    version: int | None = None,
) -> None:
    """Score a project's indicators for a wave; None clears a score. With `version`, the project's scores at that
    wave must still be at that version."""

    def work(cur):
        old = _select(cur, "indicator_value", "project_code = ? AND wave = ?", [project_code, wave])
        before = {r["indicator_code"]: r["value"] for r in old}
        after = {**before, **values}
        after = {code: value for code, value in after.items() if value is not None}
        if after == before:
            return
        _check_version(cur, actor, "sustainability", f"{project_code}/{wave}", version)
        _delete_tree(cur, {"indicator_value": [r for r in old if r["indicator_code"] in values]})
        for code, value in values.items():
            if value is not None:
                row = {"project_code": project_code, "wave": wave, "indicator_code": code, "value": value}
                _insert(cur, "indicator_value", row)
        record_audit(cur, actor, "update", "sustainability", f"{project_code}/{wave}", before=before, after=after)

    write(con, work)


def _drop_draft(con: Connection, username: str, form: str) -> None:
    con.execute("DELETE FROM form_draft WHERE username = ? AND form = ?", [username, form])


def set_draft(
    con: Connection,
    username: str,
    form: str,
    *,
    title: str,
    params: dict,
    content: dict,
    participant_code: str | None = None,
) -> None:
    """Keep what `username` has typed into `form` so far. Not audited: a draft is no study data, and writing one
    must not make every kept read stale."""

    def work(cur):
        cur.execute(
            "INSERT INTO form_draft (username, form, title, participant_code, params, content)"
            " VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT DO UPDATE SET title = excluded.title, participant_code = excluded.participant_code,"
            " params = excluded.params, content = excluded.content, saved_at = now()",
            [username, form, title, participant_code, json.dumps(params), json.dumps(content, default=str)],
        )

    write(con, work)


def delete_draft(con: Connection, username: str, form: str) -> None:
    write(con, lambda cur: _drop_draft(cur, username, form))


@scoped_read
def list_drafts(con: Connection, viewer: Viewer) -> list[dict]:
    """The viewer's own unsaved drafts, newest first, with what they hold (params and content as dicts)."""
    found = query_rows(
        con,
        viewer,
        "SELECT form, title, participant_code, params, content, saved_at FROM form_draft"
        " WHERE username = $me ORDER BY saved_at DESC",
        {"me": viewer.username},
    )
    return [
        {
            "form": form,
            "title": title,
            "participant_code": participant,
            "params": json.loads(params),
            "content": json.loads(content),
            "saved_at": saved_at,
        }
        for form, title, participant, params, content, saved_at in found
    ]


@scoped_read
def contact_details(con: Connection, viewer: Viewer) -> pd.DataFrame:
    """How to reach each participant (telephone, e-mail, preferred call times): identifiers, so only admins and
    evaluators get any rows (the access rules shadow the table away for everyone else)."""
    return query(
        con,
        viewer,
        "SELECT c.* FROM participant_contact c JOIN participant p USING (participant_code) ORDER BY participant_code",
    )


def add_milestone(con: Connection, actor: str, milestone: dict) -> int:
    def work(cur):
        milestone_id = cur.execute("SELECT coalesce(max(milestone_id), 0) + 1 FROM milestone").fetchone()[0]
        row = {**milestone, "milestone_id": milestone_id}
        _insert(cur, "milestone", row)
        record_audit(cur, actor, "create", "milestone", str(milestone_id), after=_json_safe(row))
        return milestone_id

    return write(con, work)


def update_milestone(con: Connection, actor: str, milestone_id: int, changes: dict) -> None:
    _update_audited(con, actor, "milestone", milestone_id, "Milestone", changes)


def delete_milestone(con: Connection, actor: str, milestone_id: int) -> dict[str, int]:
    def tree(cur):
        return {"milestone": [_existing(cur, "milestone", (milestone_id,), "Milestone")]}

    return _delete(con, actor, "milestone", str(milestone_id), tree)


def restore_deleted(con: Connection, actor: str, audit_id: int) -> dict[str, int]:
    """Put back what a `delete` audit entry removed, children included; the restore is audited too."""

    def work(cur):
        entity, key, tree = _deleted_tree(cur, audit_id)
        _check_restorable(cur, audit_id, entity, tree)
        missing = {table: _missing_rows(cur, table, tree.get(table, [])) for table in TREE_ORDER}
        if not any(missing.values()):
            raise ValidationError(Problem("already_exists", f"{entity} {key} and everything under it exist already"))
        for table in TREE_ORDER:
            for row in missing[table]:
                _insert(cur, table, row)
        record_audit(cur, actor, "restore", entity, key, after={"restored_from": audit_id, **tree})
        return {table: len(rows) for table, rows in missing.items() if rows}

    return write(con, work)


def _deleted_tree(con: Connection, audit_id: int) -> tuple[str, str, dict[str, list[dict]]]:
    found = con.execute("SELECT action, entity, entity_key, before FROM audit_entry WHERE audit_id = ?", [audit_id])
    row = found.fetchone()
    if row is None:
        raise NotFound(f"audit entry {audit_id} does not exist")
    action, entity, key, before = row
    if action != "delete" or entity not in RESTORABLE or before is None:
        raise ValidationError(
            Problem(
                "not_restorable", f"audit entry {audit_id} ({action} {entity}) is not a deletion that can be restored"
            )
        )
    tree = json.loads(before)
    if ERASED_KEY in tree:
        message = f"participant {tree[ERASED_KEY]} asked for erasure since; nothing is restored"
        raise ValidationError(Problem("erased", message))
    return entity, key, tree


def _check_restorable(con: Connection, audit_id: int, entity: str, tree: dict[str, list[dict]]) -> None:
    main = tree[entity][0]
    key = tuple(main[c] for c in KEYS[entity])
    recreated = con.execute(
        "SELECT count(*) FROM audit_entry WHERE action IN ('create', 'restore') AND entity = ? AND entity_key = ?"
        " AND audit_id > ?",
        [entity, "/".join(map(str, key)), audit_id],
    ).fetchall()[0][0]
    if recreated:
        raise ValidationError(Problem("already_exists", f"{entity} {'/'.join(map(str, key))} exists again already"))
    parent = {"participant": ("project", "project_code"), "interview": ("participant", "participant_code")}
    parent.update(milestone=("project", "project_code"))
    if entity in parent:
        table, column = parent[entity]
        if _one(con, table, (main[column],)) is None:
            raise ValidationError(
                Problem("missing_parent", f"restore {table} {main[column]} first: this {entity} belongs to it")
            )
    people = {r["participant_code"] for r in tree.get("interview", [])} | {
        r["participant_code"] for r in tree.get("participant", [])
    }
    erased = _erased_among(con, people)
    if erased:
        raise ValidationError(
            Problem("erased", f"participant {', '.join(sorted(erased))} asked for erasure since; nothing is restored")
        )


def _erased_among(con: Connection, participant_codes: set[str]) -> set[str]:
    if not participant_codes:
        return set()
    found = con.execute(
        "SELECT DISTINCT entity_key FROM audit_entry WHERE action = 'erase' AND entity = 'participant'"
        " AND list_contains(?::VARCHAR[], entity_key)",
        [sorted(participant_codes)],
    ).fetchall()
    return {r[0] for r in found}


def _missing_rows(con: Connection, table: str, rows: list[dict]) -> list[dict]:
    """The rows not in the table now. Links to accounts deleted since the project was are left out."""
    missing = [r for r in rows if _one(con, table, tuple(r[c] for c in KEYS[table])) is None]
    if table != "user_project":
        return missing
    users = {r[0] for r in con.execute("SELECT username FROM user_account").fetchall()}
    return [r for r in missing if r["username"] in users]


@scoped_read
def list_projects(con: Connection, viewer: Viewer) -> pd.DataFrame:
    """Every project the viewer sees, with its participants counted."""
    return query(
        con,
        viewer,
        """
        SELECT p.*, (SELECT count(*) FROM participant x WHERE x.project_code = p.project_code) AS participants,
               coalesce(v.version, 0) AS version
        FROM project p LEFT JOIN record_version v ON v.entity = 'project' AND v.entity_key = p.project_code
        ORDER BY p.project_code
        """,
    )


@scoped_read
def list_participants(con: Connection, viewer: Viewer, project_code: str) -> pd.DataFrame:
    """A project's participants, with how many interviews each has on record, their record's version and their
    contact details (which only admins and evaluators see: NULL for everyone else)."""
    return query(
        con,
        viewer,
        """
        SELECT p.*, (SELECT count(*) FROM interview i WHERE i.participant_code = p.participant_code) AS interviews,
               coalesce(v.version, 0) AS version, c.telephone, c.email, c.call_times
        FROM participant p
        LEFT JOIN record_version v ON v.entity = 'participant' AND v.entity_key = p.participant_code
        LEFT JOIN participant_contact c ON c.participant_code = p.participant_code
        WHERE p.project_code = $project ORDER BY p.participant_code
        """,
        {"project": project_code},
    )


@scoped_read
def project_interviews(con: Connection, viewer: Viewer, project_code: str) -> pd.DataFrame:
    """A project's interviews by participant in schedule order, with how many factors each rated."""
    return query(
        con,
        viewer,
        """
        SELECT i.*, w.label AS wave_label, w.position,
               (SELECT count(*) FROM factor_rating r WHERE r.interview_id = i.interview_id) AS ratings,
               coalesce(v.version, 0) AS version
        FROM interview i JOIN wave w USING (wave) JOIN participant p USING (participant_code)
        LEFT JOIN record_version v ON v.entity = 'interview' AND v.entity_key = i.interview_id::VARCHAR
        WHERE p.project_code = $project ORDER BY i.participant_code, w.position
        """,
        {"project": project_code},
    )


@scoped_read
def project_ratings(con: Connection, viewer: Viewer, project_code: str) -> pd.DataFrame:
    """Every rating given in a project's interviews, by participant, wave and codebook order."""
    return query(
        con,
        viewer,
        """
        SELECT r.interview_id, i.participant_code, i.wave, w.label AS wave_label, w.position AS wave_position,
               r.factor_code, f.domain, f.kind, f.label, r.rating, r.evidence, r.shareable, r.coder, r.mixed
        FROM factor_rating r JOIN factor f USING (factor_code) JOIN interview i USING (interview_id)
        JOIN wave w ON w.wave = i.wave JOIN participant p ON p.participant_code = i.participant_code
        WHERE p.project_code = $project ORDER BY i.participant_code, w.position, f.position
        """,
        {"project": project_code},
    )


@scoped_read
def indicator_scores(con: Connection, viewer: Viewer, project_code: str, wave: str) -> pd.DataFrame:
    """Every indicator with the project's value at `wave` and at the wave before it (NULL where not scored)."""
    return query(
        con,
        viewer,
        """
        WITH here AS (SELECT position FROM wave WHERE wave = $wave),
        prior AS (SELECT wave, label FROM wave WHERE position < (SELECT position FROM here)
                  ORDER BY position DESC LIMIT 1)
        SELECT d.indicator_code, d.label, d.value_type, d.min_value, d.max_value, d.description,
               v.value, (SELECT label FROM prior) AS previous_wave, pv.value AS previous_value,
               coalesce((SELECT version FROM record_version WHERE entity = 'sustainability'
                         AND entity_key = $project || '/' || $wave), 0) AS version
        FROM indicator d
        LEFT JOIN indicator_value v ON v.indicator_code = d.indicator_code
             AND v.project_code = $project AND v.wave = $wave
        LEFT JOIN indicator_value pv ON pv.indicator_code = d.indicator_code
             AND pv.project_code = $project AND pv.wave = (SELECT wave FROM prior)
        WHERE EXISTS (SELECT 1 FROM project WHERE project_code = $project)
        ORDER BY d.position
        """,
        {"project": project_code, "wave": wave},
    )


@scoped_read
def list_milestones(con: Connection, viewer: Viewer, project_code: str) -> pd.DataFrame:
    return query(
        con,
        viewer,
        "SELECT * FROM milestone WHERE project_code = $project ORDER BY milestone_date, milestone_id",
        {"project": project_code},
    )
