"""`--format github`: workflow annotations at the file and line of the offending record."""

from __future__ import annotations

import re

from luoshi.engine.language.policy import Catalog
from luoshi.engine.runtime.results import Report

_SOURCE = re.compile(r"^(?P<file>.+?):(?P<line>\d+)(?::(?P<col>\d+))?$")


def _escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _escape(text).replace(":", "%3A").replace(",", "%2C")


def render(report: Report, catalog: Catalog) -> str:
    lines = []
    for finding in report.findings:
        level = "error" if finding.severity == "error" else "warning"
        where = ""
        if finding.evidence:
            match = _SOURCE.match(finding.evidence[0].source)
            if match:
                where = f"file={_property(match['file'])},line={match['line']}"
                if match["col"]:
                    where += f",col={match['col']}"
            else:  # a workbook row: name the file
                where = f"file={_property(finding.evidence[0].source.split(':')[0])}"
        title = _property(f"{finding.rule} {catalog.rules[finding.rule].title.zh}")
        properties = ",".join(part for part in (where, f"title={title}") if part)
        lines.append(f"::{level} {properties}::{_escape(finding.message)}")
    return "\n".join(lines) + ("\n" if lines else "")
