"""`--format junit`: one test case per rule and unit, for CI dashboards.

ElementTree escapes `<`, `>`, `&` and quotes; `escape.xml` drops what XML 1.0 cannot hold at
all (control characters, lone surrogates), so the report is always well-formed."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from luoshi.engine.language.policy import Catalog
from luoshi.engine.runtime.results import Report
from luoshi.outputs.escape import xml


def render(report: Report, catalog: Catalog) -> str:
    units = sorted(set(report.units) | {f.unit or "" for f in report.findings})
    suite = ET.Element("testsuite", name=f"luoshi {report.year}",
                       timestamp=report.as_of.isoformat())
    failures = 0
    cases = 0
    by_case: dict[tuple[str, str], list] = {}
    for finding in report.findings:
        by_case.setdefault((finding.rule, finding.unit or ""), []).append(finding)
    for rule_id in sorted(catalog.rules):
        for unit in units:
            cases += 1
            case = ET.SubElement(suite, "testcase", classname=rule_id,
                                 name=xml(f"{rule_id} {unit or '（无单位）'}"))
            for finding in by_case.get((rule_id, unit), []):
                failures += 1
                failure = ET.SubElement(case, "failure", type=finding.severity,
                                        message=xml(finding.message))
                failure.text = xml("\n".join(f"{e.kind} {e.id} {e.source}"
                                              for e in finding.evidence))
    suite.set("tests", str(cases))
    suite.set("failures", str(failures))
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"
