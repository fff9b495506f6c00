"""`--format json`: the object interface.md specifies, one per run."""

from __future__ import annotations

import json
from typing import Any

from luoshi.engine.language.policy import Catalog
from luoshi.engine.runtime.results import Report
from luoshi.facts.version import tool_version


def summary(report: Report) -> dict[str, int]:
    return {"errors": sum(f.severity == "error" for f in report.findings),
            "warnings": sum(f.severity == "warning" for f in report.findings),
            "units": len(report.units), "triggers": len(report.triggers)}


def as_data(report: Report) -> dict[str, Any]:
    return {
        "tool": "luoshi",
        "version": tool_version(),
        "year": report.year,
        "as_of": report.as_of.isoformat(),
        "params": report.params,
        "config": report.config,
        "findings": [finding.as_dict() for finding in report.findings],
        "triggers": [trigger.as_dict() for trigger in report.triggers],
        "summary": summary(report),
        "waived": [{"rule": f.rule, "unit": f.unit, "subject": f.subject, "id": f.id,
                    "waiver": w.as_dict()} for f, w in report.waived],
        "waivers": {
            "applied": len(report.waived),
            "expired": [{"rule": w.rule, "unit": w.unit, "subject": w.subject,
                         "expires": w.expires.isoformat()} for w in report.expired],
            "stale": [{"rule": w.rule, "unit": w.unit, "subject": w.subject}
                      for w in report.stale],
        },
    }


def render(report: Report, catalog: Catalog) -> str:
    """Indented at the top level, one finding (trigger, …) per line: easy to read and to grep,
    and written by json's C encoder, which `indent` would turn off (10× slower on 13,000
    findings)."""
    def compact(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    members = []
    data = as_data(report)
    # Built-in terms or parameters a user's terms file redefined (`override`), where.
    data["overrides"] = [{"name": name, "where": str(where)}
                         for name, where in sorted(catalog.overrides.items())]
    for key, value in data.items():
        if isinstance(value, list) and value:
            items = ",\n".join(f"    {compact(item)}" for item in value)
            members.append(f"  {compact(key)}: [\n{items}\n  ]")
        else:
            members.append(f"  {compact(key)}: {compact(value)}")
    return "{\n" + ",\n".join(members) + "\n}\n"
