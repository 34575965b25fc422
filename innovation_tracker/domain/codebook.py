"""Codebooks and indicator sets are data: CSV files, validated row by row on load."""

from __future__ import annotations

import csv
import io
import re
from importlib import resources
from pathlib import Path

from innovation_tracker.domain.errors import Problem, ValidationError
from innovation_tracker.domain.model import (
    Factor,
    FactorKind,
    Indicator,
    IndicatorType,
    check_length,
    parse_enum,
)

CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
DEFAULT_CODEBOOK = "codebook_brooks2011.csv"
DEFAULT_INDICATORS = "indicators_default.csv"
# The codebooks shipped with the package, by the name `init --codebook` and the first-admin setup offer them.
BUILT_IN_CODEBOOKS = {"brooks2011": "codebook_brooks2011.csv", "cfir2": "codebook_cfir2.csv"}
BUILT_IN_TITLES = {
    "brooks2011": "Brooks, Pilgrim & Rogers 2011: 47 facilitators and barriers (context, process/outcome)",
    "cfir2": "CFIR 2.0 (Damschroder et al. 2022): 67 constructs in 5 domains, rated −2…+2, 0 and X",
}
# A codebook declares the ratings beyond −2, −1, +1, +2 it uses in a header comment: `# ratings: neutral, mixed`.
SCALE_DIRECTIVE = re.compile(r"^#\s*ratings\s*:(.*)$", re.IGNORECASE)


def _read_text(source: str | Path | None, default: str) -> tuple[str, str]:
    if source is None:
        text = resources.files("innovation_tracker.domain.defaults").joinpath(default).read_text(encoding="utf-8-sig")
        return default, text
    if str(source) in BUILT_IN_CODEBOOKS and not Path(source).exists():
        return _read_text(None, BUILT_IN_CODEBOOKS[str(source)])
    path = Path(source)
    return path.name, path.read_text(encoding="utf-8-sig")


def _header_comments(text: str) -> tuple[list[str], str]:
    """The `#` lines before the header (a codebook's source and its declarations) and the CSV after them."""
    lines = text.splitlines(keepends=True)
    n = 0
    while n < len(lines) and (lines[n].startswith("#") or not lines[n].strip()):
        n += 1
    return [line.strip() for line in lines[:n] if line.startswith("#")], "".join(lines[n:])


def _read_rows(source: str | Path | None, default: str) -> tuple[str, list[dict[str, str]]]:
    name, text = _read_text(source, default)
    _, body = _header_comments(text)
    return name, list(csv.DictReader(io.StringIO(body)))


def declares_neutral_mixed(comments: list[str], file: str = "codebook.csv") -> bool:
    """Whether a codebook's header declares CFIR's 0 (neutral) and X (mixed) ratings: `# ratings: neutral, mixed`."""
    for line in comments:
        found = SCALE_DIRECTIVE.match(line)
        if found is None:
            continue
        words = {w.strip().lower() for w in found.group(1).split(",") if w.strip()}
        unknown = words - {"neutral", "mixed"}
        if unknown or words != {"neutral", "mixed"}:
            raise ValidationError(
                Problem(
                    "scale",
                    f"'{line}': a codebook declares its extra ratings as '# ratings: neutral, mixed' (both or none)",
                    "ratings",
                    file=file,
                )
            )
        return True
    return False


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


def _length_problems(raw: dict[str, str], fields: tuple[str, ...], row: int, file: str) -> list[Problem]:
    found = [p for field in fields for p in check_length((raw.get(field) or "").strip(), field, row)]
    return [Problem(p.rule, p.message, p.field, row, file) for p in found]


def _optional_int(text: str | None, field: str, row: int, file: str) -> tuple[int | None, list[Problem]]:
    text = (text or "").strip()
    if not text:
        return None, []
    try:
        return int(text), []
    except ValueError:
        return None, [Problem("whole_number", f"'{text}' is not a whole number", field, row, file, text)]


def _optional_flag(text: object, row: int, file: str) -> tuple[bool, list[Problem]]:
    """The `retired` column of a codebook or indicator set: true/false (blank or absent: false)."""
    value = "" if text is None else str(text).strip().lower()
    if value in ("", "false", "no", "n", "0"):
        return False, []
    if value in ("true", "yes", "y", "1"):
        return True, []
    return False, [Problem("yes_no", f"retired '{text}' must be true or false", "retired", row, file, str(text))]


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
        found += _length_problems(raw, ("domain", "label", "description"), number, file)
        paper, paper_problems = _optional_int(raw.get("paper_projects"), "paper_projects", number, file)
        found += paper_problems
        if found or kind is None:  # parse_enum gives no kind only with a problem
            problems += found
            continue
        retired, retired_problems = _optional_flag(raw.get("retired"), number, file)
        if retired_problems:
            problems += retired_problems
            continue
        seen.add(code)
        factors.append(Factor(code, domain, kind, label, (raw.get("description") or "").strip(), paper, retired))
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
        found += _length_problems(raw, ("label", "description"), number, file)
        if found or value_type is None:  # parse_enum gives no type only with a problem
            problems += found
            continue
        retired, retired_problems = _optional_flag(raw.get("retired"), number, file)
        if retired_problems:
            problems += retired_problems
            continue
        seen.add(code)
        description = (raw.get("description") or "").strip()
        indicators.append(Indicator(code, label, value_type, low, high, better, description, retired))
    if not rows:
        problems.append(Problem("empty", "the indicator set has no indicators", file=file))
    if problems:
        raise ValidationError(problems)
    return indicators


def load_codebook(path: str | Path | None = None) -> list[Factor]:
    """The default codebook (Brooks, Pilgrim & Rogers 2011) unless a CSV path (or a built-in's name) is given."""
    return load_codebook_and_scale(path)[0]


def load_codebook_and_scale(path: str | Path | None = None) -> tuple[list[Factor], bool]:
    """A codebook's factors and whether it declares the neutral (0) and mixed (X) ratings. `path` is a CSV file, a
    built-in's name (`brooks2011`, `cfir2`), or None for the default."""
    name, text = _read_text(path, DEFAULT_CODEBOOK)
    comments, body = _header_comments(text)
    neutral_mixed = declares_neutral_mixed(comments, name)
    return parse_codebook(list(csv.DictReader(io.StringIO(body))), name), neutral_mixed


def load_indicators(path: str | Path | None = None) -> list[Indicator]:
    name, rows = _read_rows(path, DEFAULT_INDICATORS)
    return parse_indicators(rows, name)
