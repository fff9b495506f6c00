"""The deadline lights of the 首页: red, a finding or trigger already due; yellow, something
falls due within N days (`upcoming`); green, neither."""

from __future__ import annotations

import datetime as dt
from typing import Any

LIGHTS = {"red": "红灯：已有到期未落实的问题", "yellow": "黄灯：临近期限", "green": "绿灯：按期"}


def lights(findings: dict[str, Any], upcoming: dict[str, Any], units: list[str],
           as_of: dt.date) -> dict[str, str]:
    """Per unit: `red` if a finding of severity error is charged to it now, or a trigger's due
    date has passed; `yellow` if a finding or trigger falls due by `upcoming["until"]`;
    else `green`. Warnings (提醒) alone do not colour a unit red."""
    result = dict.fromkeys(units, "green")
    for item in upcoming["upcoming"]:
        if item.get("unit") in result:
            result[item["unit"]] = "yellow"
    for trigger in upcoming["triggers"]:
        if trigger.get("target_unit") in result:
            result[trigger["target_unit"]] = "yellow"
    for trigger in findings["triggers"]:
        unit, due = trigger.get("target_unit"), trigger.get("due")
        if unit in result:
            if due and dt.date.fromisoformat(due) < as_of:
                result[unit] = "red"
            elif due and result[unit] == "green" and due <= upcoming["until"]:
                result[unit] = "yellow"
    for finding in findings["findings"]:
        if finding["severity"] == "error" and finding.get("unit") in result:
            result[finding["unit"]] = "red"
    return result
