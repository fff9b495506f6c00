"""Hostile input: any bytes, and any mutation of a valid file, in every shape, end in a valid
read or clean problems (exit 2 with a message) — never an exception or a hang."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from luoshi.facts import export
from luoshi.facts.problems import InputError
from luoshi.facts.raw import Reading
from luoshi.facts.readers import read_bytes
from luoshi.facts.validate import read_facts, validate

MINIMAL = Path(__file__).parent / "golden" / "minimal" / "facts.yaml"
SHAPES = [".yaml", ".json", ".csv", ".xlsx"]


def _read(name: str, data: bytes) -> None:
    """Must return normally: either facts, or InputError carrying located problems."""
    reading = Reading()
    started = time.perf_counter()
    read_bytes(name, data, reading)
    try:
        validate(reading)
    except InputError as error:
        assert error.problems and all(str(p).startswith(name) for p in error.problems)
    assert time.perf_counter() - started < 5


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=4096), suffix=st.sampled_from(SHAPES))
def test_any_bytes(data, suffix):
    _read(f"input{suffix}", data)


def _valid_files(tmp: Path) -> dict[str, bytes]:
    facts, _ = read_facts([str(MINIMAL)])
    export.write_json(facts, tmp / "f.json")
    export.write_xlsx(facts, tmp / "f.xlsx")
    export.write_csv(facts, tmp / "csv", encoding="gb18030")
    return {"units.yaml": MINIMAL.read_bytes(), "f.json": (tmp / "f.json").read_bytes(),
            "单位.csv": (tmp / "csv" / "单位.csv").read_bytes(),
            "f.xlsx": (tmp / "f.xlsx").read_bytes()}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.sampled_from(["units.yaml", "f.json", "单位.csv"]),
       edits=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255), st.sampled_from(
           ["replace", "insert", "delete"])), min_size=1, max_size=8))
def test_mutated_text_files(tmp_path_factory, which, edits):
    files = _FILES.setdefault("files", _valid_files(tmp_path_factory.mktemp("valid")))
    data = bytearray(files[which])
    for where, byte, how in edits:
        at = int(where * (len(data) - 1))
        if how == "replace":
            data[at] = byte
        elif how == "insert":
            data.insert(at, byte)
        else:
            del data[at]
    _read(which, bytes(data))


_FILES: dict[str, dict[str, bytes]] = {}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(member=st.integers(0, 30), where=st.floats(0, 1), junk=st.binary(min_size=1, max_size=64))
def test_mutated_workbooks(tmp_path_factory, member, where, junk):
    files = _FILES.setdefault("files", _valid_files(tmp_path_factory.mktemp("valid")))
    source = zipfile.ZipFile(io.BytesIO(files["f.xlsx"]))
    names = source.namelist()
    target = names[member % len(names)]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as damaged:
        for name in names:
            content = source.read(name)
            if name == target:
                at = int(where * len(content))
                content = content[:at] + junk + content[at + len(junk):]
            damaged.writestr(name, content)
    _read("f.xlsx", out.getvalue())


def test_very_long_fields_deep_nesting_and_formulas():
    long = "x" * 2_000_000
    _read("long.yaml", f"units:\n  - {{id: u1, name: {long}, kind: discipline}}\n".encode())
    _read("long.csv", f"id,name,kind\nu1,{long},discipline\n".encode())
    _read("deep.json", b'{"units": ' + b"[" * 50_000 + b"]" * 50_000 + b"}")
    _read("deep.yaml", b"units: " + b"[" * 50_000 + b"]" * 50_000)
    _read("formula.csv", "编号,名称,类型\nu1,=HYPERLINK(\"http://x\"),纪检监察机关\n".encode())


def test_exports_neutralise_formulas_and_read_back_unchanged(tmp_path):
    from openpyxl import load_workbook

    text = 'units:\n  - {id: u1, name: "=HYPERLINK(\\"http://x\\")", kind: discipline}\n' \
           '  - {id: u2, name: "+1-2", kind: county}\n'
    (tmp_path / "f.yaml").write_text(text, encoding="utf-8")
    facts, _ = read_facts([str(tmp_path / "f.yaml")])
    export.write_csv(facts, tmp_path / "csv", chinese=False)
    export.write_xlsx(facts, tmp_path / "f.xlsx", chinese=False)
    assert "'=HYPERLINK" in (tmp_path / "csv" / "units.csv").read_text(encoding="utf-8-sig")
    cell = load_workbook(tmp_path / "f.xlsx")["units"]["B2"]
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")
    for shape in (tmp_path / "csv", tmp_path / "f.xlsx"):
        again, _ = read_facts([str(shape)])
        assert [r.fact.name for r in again.records["units"]] == ['=HYPERLINK("http://x")', "+1-2"]


def test_a_long_header_cell_is_read_in_linear_time(monkeypatch):
    """An 80 KB header cell of spaces (issue 21): the pattern that strips the required marks
    searched it in quadratic time (17 s, holding every request of the portal). It now sees at
    most `MAX_HEADER` characters of a cell; the cell is still reported as an unknown header."""
    from luoshi.facts import table_reader

    searched: list[int] = []
    pattern = table_reader._REQUIRED_MARKS

    class Counting:
        def sub(self, replacement: str, text: str) -> str:
            searched.append(len(text))
            assert len(text) <= table_reader.MAX_HEADER, f"searched {len(text)} characters"
            return pattern.sub(replacement, text)

    monkeypatch.setattr(table_reader, "_REQUIRED_MARKS", Counting())
    cell = "名称" + " " * 80_000 + "x"
    reading = Reading()
    read_bytes("units.csv", f"id,*类型,\"{cell}\"\nu1,county,x\n".encode(), reading)
    assert searched and max(searched) <= table_reader.MAX_HEADER
    with_marks = [p for p in reading.problems if p.code == "E301"]
    assert len(with_marks) == 1 and with_marks[0].where.col == 3
    assert "名称" in with_marks[0].message and len(with_marks[0].message) < 400
