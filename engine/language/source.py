"""The source document (咸惩防办文〔2013〕3号), bundled with the policies, by clause.

A clause id is a section and optional item, as the document numbers them: `二(三)` is item
（三） of section 二, `三` is the whole of section 三.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

SOURCE_FILE = "xianning-2013-3.txt"
_SECTION = re.compile(r"^([一二三四五六七八九十]+)、")
_ITEM = re.compile(r"^（([一二三四五六七八九十]+)）")
_CLAUSE = re.compile(r"^([一二三四五六七八九十]+)(?:\(([一二三四五六七八九十]+)\))?$")


@cache
def clauses() -> dict[str, str]:
    text = resources.files("luoshi.policies").joinpath(SOURCE_FILE).read_text(encoding="utf-8")
    found: dict[str, list[str]] = {}
    section = None
    for line in (line.strip() for line in text.splitlines()):
        if not line:
            continue
        heading = _SECTION.match(line)
        if heading:
            section = heading.group(1)
            found.setdefault(section, []).append(line)
            continue
        if section is None:
            continue
        found[section].append(line)
        item = _ITEM.match(line)
        if item:
            found.setdefault(f"{section}({item.group(1)})", []).append(line)
    return {clause: "\n".join(lines) for clause, lines in found.items()}


def clause_text(clause: str) -> str | None:
    if not _CLAUSE.match(clause):
        return None
    return clauses().get(clause)
