"""Codebooks and indicator sets are data: CSV files, validated row by row on load."""

from __future__ import annotations

import csv
import io
import re
from importlib import resources
from pathlib import Path

from .domain import Factor, FactorKind, Indicator, IndicatorType, parse_enum
from .errors import Problem, ValidationError

CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
DEFAULT_CODEBOOK = "codebook_brooks2011.csv"
DEFAULT_INDICATORS = "indicators_default.csv"


def _read_rows(source: str | Path | None, default: str) -> tuple[str, list[dict[str, str]]]:
    if source is None:
        text = resources.files("innovation_tracker.defaults").joinpath(default).read_text(encoding="utf-8-sig")
        name = default
    else:
        path = Path(source)
        text = path.read_text(encoding="utf-8-sig")
        name = path.name
    return name, list(csv.DictReader(io.StringIO(text)))


def _code_problems(code: str, field: str, row: int, seen: set[str], file: str) -> list[Problem]:
    if not CODE_PATTERN.match(code):
        return [
            Problem(
                "code_format",
                f"code '{code}' must be lower case letters, digits and _ , starting with a letter",
                field,
                row,
                file,
                code,
            )
        ]
    if code in seen:
        return [Problem("duplicate", f"code '{code}' appears more than once", field, row, file, code)]
    return []


def _optional_int(text: str | None, field: str, row: int, file: str) -> tuple[int | None, list[Problem]]:
    text = (text or "").strip()
    if not text:
        return None, []
    try:
        return int(text), []
    except ValueError:
        return None, [Problem("whole_number", f"'{text}' is not a whole number", field, row, file, text)]


def parse_codebook(rows: list[dict[str, str]], file: str = "codebook.csv") -> list[Factor]:
    """Rows are numbered as a spreadsheet shows them: the header is row 1."""
    problems: list[Problem] = []
    factors: list[Factor] = []
    seen: set[str] = set()
    for number, raw in enumerate(rows, start=2):
        code = (raw.get("factor_code") or "").strip()
        found = _code_problems(code, "factor_code", number, seen, file)
        kind, kind_problems = parse_enum(FactorKind, raw.get("kind"), "kind", number)
        found += [Problem(p.rule, p.message, p.field, number, file, p.value) for p in kind_problems]
        label = (raw.get("label") or "").strip()
        domain = (raw.get("domain") or "").strip()
        for field, value in (("label", label), ("domain", domain)):
            if not value:
                found.append(Problem("required", f"{field} is required", field, number, file))
        paper, paper_problems = _optional_int(raw.get("paper_projects"), "paper_projects", number, file)
        found += paper_problems
        if found or kind is None:  # parse_enum gives no kind only with a problem
            problems += found
            continue
        seen.add(code)
        factors.append(Factor(code, domain, kind, label, (raw.get("description") or "").strip(), paper))
    if not rows:
        problems.append(Problem("empty", "the codebook has no factors", file=file))
    if problems:
        raise ValidationError(problems)
    return factors


def parse_indicators(rows: list[dict[str, str]], file: str = "indicators.csv") -> list[Indicator]:
    problems: list[Problem] = []
    indicators: list[Indicator] = []
    seen: set[str] = set()
    for number, raw in enumerate(rows, start=2):
        code = (raw.get("indicator_code") or "").strip()
        found = _code_problems(code, "indicator_code", number, seen, file)
        value_type, type_problems = parse_enum(IndicatorType, raw.get("value_type"), "value_type", number)
        found += [Problem(p.rule, p.message, p.field, number, file, p.value) for p in type_problems]
        low, low_problems = _optional_int(raw.get("min_value"), "min_value", number, file)
        high, high_problems = _optional_int(raw.get("max_value"), "max_value", number, file)
        found += low_problems + high_problems
        better = (raw.get("better") or "higher").strip().lower()
        if better not in ("higher", "lower"):
            found.append(
                Problem("allowed_values", f"'{better}' is not one of: higher, lower", "better", number, file, better)
            )
        if value_type == IndicatorType.ORDINAL and (low is None or high is None):
            found.append(
                Problem("required", "an ordinal indicator needs min_value and max_value", "max_value", number, file)
            )
        if low is not None and high is not None and low >= high:
            found.append(Problem("range", f"min_value {low} must be below max_value {high}", "min_value", number, file))
        label = (raw.get("label") or "").strip()
        if not label:
            found.append(Problem("required", "label is required", "label", number, file))
        if found or value_type is None:  # parse_enum gives no type only with a problem
            problems += found
            continue
        seen.add(code)
        indicators.append(Indicator(code, label, value_type, low, high, better, (raw.get("description") or "").strip()))
    if not rows:
        problems.append(Problem("empty", "the indicator set has no indicators", file=file))
    if problems:
        raise ValidationError(problems)
    return indicators


def load_codebook(path: str | Path | None = None) -> list[Factor]:
    """The default codebook (Brooks, Pilgrim & Rogers 2011) unless a CSV path is given."""
    name, rows = _read_rows(path, DEFAULT_CODEBOOK)
    return parse_codebook(rows, name)


def load_indicators(path: str | Path | None = None) -> list[Indicator]:
    name, rows = _read_rows(path, DEFAULT_INDICATORS)
    return parse_indicators(rows, name)
