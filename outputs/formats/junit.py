"""`--format junit`: one test case per rule and unit, for CI dashboards."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from luoshi.engine.language.policy import Catalog
from luoshi.engine.runtime.results import Report


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
                                 name=f"{rule_id} {unit or '（无单位）'}")
            for finding in by_case.get((rule_id, unit), []):
                failures += 1
                failure = ET.SubElement(case, "failure", type=finding.severity,
                                        message=finding.message)
                failure.text = "\n".join(f"{e.kind} {e.id} {e.source}" for e in finding.evidence)
    suite.set("tests", str(cases))
    suite.set("failures", str(failures))
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"
