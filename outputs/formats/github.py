"""`--format github`: workflow annotations at the file and line of the offending record.

One line per finding, always: the message and each property pass through `escape`'s
annotation functions, so a line break, `::` or `%0A` in a value cannot end the command or
start another."""

from __future__ import annotations

import re

from luoshi.engine.language.policy import Catalog
from luoshi.engine.runtime.results import Report
from luoshi.outputs.escape import annotation_message, annotation_property

_SOURCE = re.compile(r"^(?P<file>.+?):(?P<line>\d+)(?::(?P<col>\d+))?$")


def render(report: Report, catalog: Catalog) -> str:
    lines = []
    for finding in report.findings:
        level = "error" if finding.severity == "error" else "warning"
        where = ""
        if finding.evidence:
            source = finding.evidence[0].source
            match = _SOURCE.match(source)
            if match:
                where = f"file={annotation_property(match['file'])},line={match['line']}"
                if match["col"]:
                    where += f",col={match['col']}"
            else:  # a workbook row: name the file
                where = f"file={annotation_property(source.split(':')[0])}"
        rule = catalog.rules.get(finding.rule)
        title = annotation_property(f"{finding.rule} {rule.title.zh if rule else ''}".strip())
        properties = ",".join(part for part in (where, f"title={title}") if part)
        lines.append(f"::{level} {properties}::{annotation_message(finding.message)}")
    return "\n".join(lines) + ("\n" if lines else "")
