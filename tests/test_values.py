"""Field values: every spelling a unit may use, and what is refused."""

import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic_core import PydanticCustomError

from luoshi.facts.kinds import UNIT_KIND
from luoshi.facts.values import (
    INT_MAX,
    INT_MIN,
    YEAR_MAX,
    YEAR_MIN,
    parse_bool,
    parse_date,
    parse_int,
    parse_list,
    parse_number,
    parse_text,
)


@pytest.mark.parametrize("text", ["2013-06-26", "2013/6/26", "2013年6月26日", "2013 年 6 月 26 日",
                                  "2013.06.26", " 2013-6-26 "])
def test_dates_in_every_accepted_spelling(text):
    assert parse_date(text) == dt.date(2013, 6, 26)


def test_excel_datetime_cell_is_a_date():
    assert parse_date(dt.datetime(2013, 6, 26, 0, 0)) == dt.date(2013, 6, 26)


@pytest.mark.parametrize("text", ["2013-02-29", "2013-13-01", "26/06/2013", "June 26", "20130626"])
def test_impossible_or_unknown_dates_are_refused(text):
    with pytest.raises(PydanticCustomError) as raised:
        parse_date(text)
    assert raised.value.type == "E306"


def test_29_february_of_a_leap_year_is_a_date():
    assert parse_date("2012年2月29日") == dt.date(2012, 2, 29)


@given(st.dates(min_value=dt.date(YEAR_MIN, 1, 1), max_value=dt.date(YEAR_MAX, 12, 31)))
def test_any_date_survives_every_spelling(day):
    for text in (day.isoformat(), f"{day.year}/{day.month}/{day.day}",
                 f"{day.year}年{day.month}月{day.day}日"):
        assert parse_date(text) == day


@pytest.mark.parametrize(("value", "expected"), [
    ("true", True), ("false", False), ("是", True), ("否", False), ("1", True), ("0", False),
    (1, True), (0, False), (True, True), ("TRUE", True), ("", None),
])
def test_booleans(value, expected):
    assert parse_bool(value) is expected


@pytest.mark.parametrize("value", ["也许", 2, "t-1"])
def test_unknown_booleans_are_refused(value):
    with pytest.raises(PydanticCustomError) as raised:
        parse_bool(value)
    assert raised.value.type == "E307"


def test_list_fields_split_on_ascii_and_fullwidth_semicolons():
    assert parse_list("inst-1; inst-2；inst-3;") == ["inst-1", "inst-2", "inst-3"]
    assert parse_list(["a", 7]) == ["a", "7"]
    assert parse_list(None) == []


def test_spreadsheet_numbers_become_the_text_typed():
    assert parse_text(7.0) == "7"
    assert parse_text(12345678901234567890) == "12345678901234567890"
    assert parse_int(2013.0) == 2013


def test_enum_takes_code_name_chinese_label_and_fullwidth_brackets():
    assert UNIT_KIND.parse("party_committee") == "party_committee"
    assert UNIT_KIND.parse("党委(党组)") == "party_committee"
    assert UNIT_KIND.parse("党委（党组）") == "party_committee"
    with pytest.raises(PydanticCustomError):
        UNIT_KIND.parse("党委")


@pytest.mark.parametrize("text", ["1899-12-31", "2200-01-01", "9999-12-31", "0001-01-01"])
def test_dates_outside_the_years_kept_are_refused(text):
    with pytest.raises(PydanticCustomError) as raised:
        parse_date(text)
    assert raised.value.type == "E306"


@pytest.mark.parametrize(("parse", "value", "code"), [
    (parse_int, INT_MAX + 1, "E309"), (parse_int, str(INT_MIN - 1), "E309"),
    (parse_int, 1e300, "E309"), (parse_int, "9" * 500, "E304"),
    (parse_number, "nan", "E309"), (parse_number, float("inf"), "E309"),
    (parse_number, "-Infinity", "E309"), (parse_number, 10**400, "E309"),
    (parse_text, "a\x00b", "E308"), (parse_text, "\x1b[2J", "E308"), (parse_text, "x\x7f", "E308"),
    (parse_text, "\x9b31m", "E308"), (parse_text, "lone \ud800", "E308"),
    (parse_list, "u1；u\x002", "E308"),
])
def test_what_the_store_cannot_keep_is_refused(parse, value, code):
    with pytest.raises(PydanticCustomError) as raised:
        parse(value)
    assert raised.value.type == code


def test_line_breaks_and_tabs_stay_in_text_as_one_kind_of_newline():
    assert parse_text("第一行\r\n第二行\r第三行\t完") == "第一行\n第二行\n第三行\t完"


def test_list_cells_split_on_dunhao_too():
    assert parse_list("u1、u2；u3;u4") == ["u1", "u2", "u3", "u4"]


def test_integer_limits_are_those_of_the_store_columns():
    import sqlalchemy as sa

    from luoshi.facts.tables import FACT_TABLES

    integer_columns = [column for table in FACT_TABLES.values() for column in table.columns
                       if isinstance(column.type, sa.Integer) and column.name != "load_id"]
    assert integer_columns
    # sa.Integer is 32 bits on PostgreSQL (the narrower store): a wider type would need new limits.
    assert all(type(column.type) is sa.Integer for column in integer_columns)
    assert (INT_MIN, INT_MAX) == (-(2**31), 2**31 - 1)


def test_the_limits_accepted_are_kept_exactly_by_every_store(db_url, tmp_path):
    """What validation lets through at its very limits is stored and read back unchanged, on
    SQLite and on PostgreSQL alike."""
    from luoshi.facts import store
    from luoshi.facts.validate import read_facts

    path = tmp_path / "limits.json"
    path.write_text(json.dumps({
        "units": [{"id": "u1", "name": "制表\t符与\n换行 ✓ 𠀀", "kind": "discipline"}],
        "appraisals": [
            {"unit": "u1", "year": INT_MAX, "date": f"{YEAR_MIN}-01-01", "score": 1.7e308,
             "rank": INT_MIN},
            {"unit": "u1", "year": INT_MIN, "date": f"{YEAR_MAX}-12-31", "score": -5e-324,
             "rank": INT_MAX},
        ],
    }, ensure_ascii=False), encoding="utf-8")
    facts, inputs = read_facts([str(path)])
    store.load(facts, inputs, db_url)
    rows = store.read_rows(db_url)
    assert rows["units"][0]["name"] == "制表\t符与\n换行 ✓ 𠀀"
    stored = sorted((row["year"], row["rank"], row["score"], row["date"]) for row in rows["appraisals"])
    assert stored == [(INT_MIN, INT_MAX, -5e-324, dt.date(YEAR_MAX, 12, 31)),
                      (INT_MAX, INT_MIN, 1.7e308, dt.date(YEAR_MIN, 1, 1))]


@given(st.text())
def test_any_text_is_kept_as_storable_or_refused_with_e308(text):
    try:
        kept = parse_text(text)
    except PydanticCustomError as refused:
        assert refused.type == "E308"
        return
    if kept is not None:
        kept.encode("utf-8")  # valid Unicode
        assert "\x00" not in kept and "\x1b" not in kept and "\r" not in kept
