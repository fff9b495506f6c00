"""Field values: every spelling a unit may use, and what is refused."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic_core import PydanticCustomError

from luoshi.facts.kinds import UNIT_KIND
from luoshi.facts.values import parse_bool, parse_date, parse_int, parse_list, parse_text


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


@given(st.dates(min_value=dt.date(1000, 1, 1)))
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
