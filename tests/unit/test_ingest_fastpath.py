"""The byte-level shortcuts agree with the general regex path on every batch they take."""
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.ingest import fastpath
from shared.ingest import values as V

_num = st.text(alphabet="0123456789.-", max_size=9)
_any = st.text(alphabet="0123456789.-+, NA/n#a\t\u00a0\u2014x%$()", max_size=7)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(_num, _any, st.sampled_from(V.EMPTY_TOKENS)), max_size=30))
def test_trim_shortcut_only_when_nothing_changes(values):
    arr = pa.array(values, pa.string())
    if fastpath.needs_no_trim(arr):
        assert V.trimmed_general(arr).equals(arr)


@settings(max_examples=600, deadline=None)
@given(st.lists(st.one_of(_num, st.from_regex(r"-?[0-9]{1,6}(\.[0-9]{1,4})?", fullmatch=True)),
                min_size=1, max_size=30), st.integers(0, 3))
def test_number_classes_match_the_patterns(values, cut):
    arr = pa.array(["x"] * cut + values, pa.string()).slice(cut)   # non-zero offset too
    plain = fastpath.plain_numbers(arr)
    if plain is None:
        return
    clean = V.number_clean(arr)
    dot = pc.match_substring_regex(clean, V.DOT_RE).to_pylist()
    comma = pc.match_substring_regex(clean, V.COMMA_RE).to_pylist()
    serial = pc.match_substring_regex(arr, V.SERIAL_RE).to_pylist()
    assert plain.dot.tolist() == dot
    assert plain.comma.tolist() == comma
    assert plain.serial.tolist() == serial


@settings(max_examples=300, deadline=None)
@given(st.lists(st.from_regex(r"-?[0-9]{1,8}(\.[0-9]{1,9})?", fullmatch=True),
                min_size=1, max_size=20))
def test_plain_numbers_convert_like_the_general_path(values):
    arr = pa.array(values, pa.string())
    canon, invalid = V.to_number_strings(arr, ".")
    f, bad = V.to_float(arr, ".")
    assert f.equals(pc.cast(canon, pa.float64())) and not any(bad.to_pylist())
    d, bad = V.to_decimal(arr, ".")
    assert d.equals(pc.cast(canon, V.AMOUNT_TYPE, safe=False)) and not any(bad.to_pylist())
    assert not any(invalid.to_pylist())


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", fullmatch=True),
                          st.text(alphabet="0123456789-/ :T", max_size=12)), max_size=20))
def test_plain_iso_shortcut(values):
    arr = pa.array(values, pa.string())
    want = len(values) > 0 and all(
        pc.match_substring_regex(arr, r"^\d{4}-\d{2}-\d{2}$").to_pylist())
    assert fastpath.plain_iso_dates(arr) == want


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=6), max_size=20))
def test_json_safe(values):
    arr = pa.array(values, pa.string())
    assert fastpath.json_safe(arr) == (not any(any(c in '"\\' or ord(c) < 0x20 for c in v)
                                               for v in values))


def test_repeat_string():
    assert fastpath.repeat_string("ab", 3).to_pylist() == ["ab"] * 3
    assert fastpath.repeat_string("", 2).to_pylist() == ["", ""]
    assert fastpath.repeat_string("é", 0).to_pylist() == []
