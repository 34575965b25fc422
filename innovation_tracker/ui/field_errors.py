"""Validation messages shown next to the form field they are about."""

from __future__ import annotations

import streamlit as st

from ..errors import ValidationError


class FieldErrors:
    """Call `slot(field)` right under each field of a form; `show(error)` then puts each problem under its field,
    and any problem about no field (or a field without a slot) where `show` is called."""

    def __init__(self) -> None:
        self._slots: dict[str, st.delta_generator.DeltaGenerator] = {}

    def slot(self, field: str) -> None:
        self._slots[field] = st.empty()

    def show(self, error: ValidationError) -> None:
        by_field: dict[str | None, list[str]] = {}
        for problem in error.problems:
            field = problem.field if problem.field in self._slots else None
            by_field.setdefault(field, []).append(_sentence(problem.message))
        for field, messages in by_field.items():
            target = self._slots[field] if field is not None else st
            target.error(" ".join(messages), icon=":material/error:")


def _sentence(message: str) -> str:
    message = message[:1].upper() + message[1:]
    return message if message.endswith(".") else message + "."
