"""An import's fast paths give what the general ones give. The two CSV parsers agree: whatever file pyarrow's
parser takes, pandas reads to the same table; a file pandas refuses, pyarrow leaves to pandas (so the problem
report is the same as ever). Numbers and codebook look-ups read as `pd.to_numeric` and `Series.map` read them."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from innovation_tracker.domain.errors import ValidationError
from innovation_tracker.formats import importer

MANY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# The characters a CSV parser decides on, and a few that only some treat as line ends or spaces.
PIECES = [*"ab1 ,\"'\r\n\t", '""', "'=", "\r\n", "é", "\u2028", "\x0b", "\x1c", "\x00"]
HEADERS = ["a,b", "a,b,c", "a, b", '"a",b', 'a,"b\nc"', "a,", ",b", "a,a", "a", ""]


def texts() -> st.SearchStrategy[str]:
    body = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)
    return st.tuples(st.sampled_from(HEADERS), st.sampled_from(["\n", "\r\n", "\r"]), body).map("".join)


@st.composite
def regular_texts(draw) -> str:
    """Files the fast parser takes: every row as wide as the header, values quoted or not, blank lines between."""
    width = draw(st.integers(2, 4))
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    names = draw(st.lists(st.sampled_from(["a", "b", "c", " d", "e "]), min_size=width, max_size=width, unique=True))
    raw = st.text(alphabet=st.sampled_from(list(" ab1'=-+@\"\t\x0b\x1c\x85\u2028\u00a0é\r\n,")), max_size=6)
    value = st.tuples(st.booleans(), raw).map(
        lambda q: '"' + q[1].replace('"', '""') + '"' if q[0] else q[1].replace("\r", "").replace("\n", "")
    )
    rows = draw(st.lists(st.lists(value, min_size=width, max_size=width).map(",".join), max_size=5))
    return ",".join(names) + "".join(draw(st.sampled_from([eol, eol * 2])) + row for row in rows) + eol


def pandas_frame(text: str) -> pd.DataFrame | None:
    try:
        return importer._read_any_csv(text, "factor_ratings.csv")
    except ValidationError:
        return None


def assert_parsers_agree(text: str, bom: bytes = b"") -> None:
    data = bom + text.encode("utf-8")
    if not text or text.isspace():
        return
    fast = importer._read_regular_csv(data, importer._first_line(text))
    if fast is None:
        return
    slow = pandas_frame(text)
    assert slow is not None, "pyarrow read a file that pandas refuses"
    pd.testing.assert_frame_equal(fast, slow, check_dtype=False)


@MANY
@given(text=texts(), bom=st.sampled_from([b"", b"\xef\xbb\xbf"]))
@example(text='a,b\n"x"y,2\n', bom=b"")
@example(text='a,b\nx"y,"2"""\n\n', bom=b"")
@example(text="a,b\n  \n1,2\n", bom=b"")
@example(text='a,b\n1,"2\n3"\n', bom=b"")
@example(text='a,b\n1,"2', bom=b"")
def test_what_the_fast_parser_reads_pandas_reads_the_same(text, bom):
    assert_parsers_agree(text, bom)


@MANY
@given(text=regular_texts(), bom=st.sampled_from([b"", b"\xef\xbb\xbf"]))
def test_regular_files_read_the_same_by_either_parser(text, bom):
    assert_parsers_agree(text, bom)


@pytest.mark.parametrize(
    "text",
    [
        "a,b\n1,2\n3,4\n",
        "a,b\r\n1,2\r\n\r\n3,4",
        'a,b\n"1,5","say ""hi"""\n',
        "a,b\n'=1+2, x \n",
        'a,b\n1,"two\nlines"\n',
    ],
)
def test_an_ordinary_file_takes_the_fast_parser(text):
    assert importer._read_regular_csv(text.encode(), importer._first_line(text)) is not None
    assert_parsers_agree(text)


@pytest.mark.parametrize(
    "text",
    [
        "a,b\n1,2,3\n",  # longer than the header: pandas words the problem
        "a,b\n1\n",  # shorter: pandas fills in the blank
        "a,b\n",  # no rows
        "a,\n1,2\n",  # an unnamed column
        "a\n1\n",  # one column: a line of spaces would be a value to pyarrow, skipped by pandas
        "a,b\n1,\x00\n",
        "a,b\r\r,1\n",  # a lone carriage return: pandas reads the next line oddly (here as "1", "")
        'a,b\n1,"2',  # a quote left open: pandas refuses the file
    ],
)
def test_an_irregular_file_is_left_to_pandas(text):
    assert importer._read_regular_csv(text.encode(), importer._first_line(text)) is None


@pytest.mark.parametrize("text", ["a,b\n1,2", "a,b\r\n1,2", "a,b\r1,2", "a,b", "\na,b", "a,b\u2028x\n1,2"])
def test_the_first_line_is_the_first_of_splitlines(text):
    assert importer._first_line(text) == text.splitlines()[0]
    long = text + "\n" + "x" * 20_000
    assert importer._first_line(long) == long.splitlines()[0]


def test_a_first_line_longer_than_the_first_look():
    text = "a," * 30_000 + "b\r\n1,2"
    assert importer._first_line(text) == text.splitlines()[0]


@MANY
@given(
    values=st.lists(
        st.one_of(
            st.integers(-(10**20), 10**20).map(str),
            st.sampled_from(["", "-0", "007", "+5", "0x1F", "1e3", "1.0", "1.5", "nan", "inf", "١٢", " 5", "-"]),
            st.text(alphabet="-+0123456789.eEx ", max_size=8),
        ),
        max_size=30,
    )
)
def test_numbers_read_as_pandas_reads_them(values):
    text = pd.Series(values, dtype=str)
    pd.testing.assert_series_equal(
        importer._numbers(text), pd.to_numeric(text, errors="coerce"), check_dtype=False, check_exact=True
    )


@MANY
@given(values=st.lists(st.sampled_from(["a", "b", "c", "", "A", "a "]), max_size=30))
def test_a_lookup_maps_as_series_map_does(values):
    text = pd.Series(values, dtype=str)
    mapping = {"a": "first", "b": "second", "": "blank"}
    pd.testing.assert_series_equal(importer._lookup(text, mapping), text.map(mapping), check_dtype=False)
