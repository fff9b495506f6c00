"""Where a stored record came from, as a portal user sees it: the file's name and place, never
the folders of the server it was loaded on.

Records loaded with the command line keep their source as it was typed there, often an
absolute path (`/srv/luoshi/incoming/2013/facts.yaml:153`); the person at the server typed it,
so the command line's own outputs keep it. Everything the portal hands a user (pages, the JSON
API, problems of a refused upload, documents) passes through one of these first."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from luoshi.engine.runtime.results import Report
from luoshi.facts.problems import Location, Problem


def source_name(source: str | None) -> str:
    """The file's name and place, without its folders (`/srv/报送/2013/财政局.xlsx:12` →
    `财政局.xlsx:12`, `C:\\报送\\a.xlsx:学习教育!5` → `a.xlsx:学习教育!5`)."""
    if not source:
        return ""
    found = re.match(r"^(.*?)((?::[^:/\\]*)*)$", source)
    path, place = (found.group(1), found.group(2)) if found else (source, "")
    return re.split(r"[\\/]", path)[-1] + place


def plain_data(value: Any) -> Any:
    """JSON data (findings, triggers, deadlines, a run) with every `source` a file name."""
    if isinstance(value, dict):
        return {key: source_name(item) if key == "source" and isinstance(item, str)
                else plain_data(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain_data(item) for item in value]
    return value


def plain_load(described: dict[str, Any]) -> dict[str, Any]:
    """A load as `describe_load` gives it, its files by name."""
    return {**described, "files": [{**item, "path": source_name(item.get("path"))}
                                   for item in described.get("files") or []]}


# A stored record's source as text: `path:line[:col]`, or `path:Sheet![column]row` in a workbook.
_PLACE = re.compile(r"^(?P<path>.+?):(?:(?P<sheet>[^:]+)!(?P<column>[A-Z]*))?(?P<line>\d+)"
                    r"(?::(?P<col>\d+))?$")


def plain_problem(problem: Problem) -> Problem:
    """A problem at a file by name. One of a refused upload may cite a stored record (E501),
    its place then the record's whole source as the path: read back into file and line."""
    where = problem.where
    found = _PLACE.match(where.path) if where.line is None else None
    if found:
        where = Location(found["path"], int(found["line"]),
                         int(found["col"]) if found["col"] else None, found["sheet"])
    return dataclasses.replace(problem, where=dataclasses.replace(where, path=source_name(where.path)))


def plain_report(report: Report) -> Report:
    """A report whose findings' evidence names files by name (for the documents)."""
    findings = [dataclasses.replace(finding, evidence=[
        dataclasses.replace(item, source=source_name(item.source)) for item in finding.evidence])
        for finding in report.findings]
    return dataclasses.replace(report, findings=findings)
