"""A finding in the words of a document: records by what they are, dates in Chinese, no codes.

A finding's message is written for the people who run checks: it names records by id
(`督办检查 cb-ins03 对制度 cb-i01`), dates in ISO form and the rule that raised a trigger. A
document the office sends speaks of the institution by its title, the problem by what it is, the
person by name and the inspection by its date; ids, rule codes and source locations go to the
attached list (附件：问题清单). `plain` rewrites any message so, knowing nothing of the rule that
wrote it, from the records of the check (so rules added by a deployment read as well):

- a parenthesis holding only an id or a rule code is dropped (`《…》（cb-i02）`, `（A305）`);
- an id is replaced by what its record is (`《title》`, a name, `“problem”`, `9月16日的督办检查`),
  and a parenthesis that would only repeat it (the problem, the date) is dropped;
- `2013-07-20` becomes `2013年7月20日`; spaces between Chinese and figures go.
"""

from __future__ import annotations

import datetime as dt
import re

from luoshi.engine.runtime.directory import Directory, Entry
from luoshi.facts.kinds import EVALUATED_KINDS, MISCONDUCT_KIND

RULE_CODE = re.compile(r"^[A-Z]\d{3}$")
# Ids are what users write: letters, figures, `-`, `_`, `.` (the examples: cb-ins03, inst-1).
_TOKEN = r"[A-Za-z0-9](?:[A-Za-z0-9_.\-]*[A-Za-z0-9])?"
_ID_IN_PARENS = re.compile(rf"\s*[（(]\s*(?:规则\s*)?({_TOKEN})\s*[)）]")
_MENTION = re.compile(
    rf"(?P<word>重点制度|制度|督办检查|落实任务|整改事项|违规行为)?\s*(?<![A-Za-z0-9_.\-])"
    rf"(?P<id>{_TOKEN})(?![A-Za-z0-9_\-])(?P<paren>（[^（）]*）)?")
_RULE_MENTION = re.compile(r"\s*[（(]?规则\s*[A-Z]\d{3}[)）]?")
_ISO_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
_SPACE = re.compile(r"(?<=[^\x00-\x7f])[ \t]+(?=\S)|(?<=\S)[ \t]+(?=[^\x00-\x7f])")
# The bundled catalog's phrasing that reads well in a check's output but not in a document.
PHRASES = [(re.compile(pattern), replacement) for pattern, replacement in (
    (r"，但没有带队检查它", "，但没有带队对该制度开展督办检查"),
    (r"，但没有把它分解为落实任务", "，但未将该制度分解为落实任务"),
    (r"的通报日期为\s*(\S+?日)，", r"于\1才通报，"),
)]
# Kinds whose records a message names by id, in the order an id is looked up.
NAMED_KINDS = ("institutions", "units", "persons", "tasks", "inspections", "rectifications",
               "misconduct", "accountability", "warning_measures", "signals")


def chinese_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def chinese_dates(text: str) -> str:
    return _ISO_DATE.sub(lambda m: f"{int(m[1])}年{int(m[2])}月{int(m[3])}日", text)


class Words:
    """Plain words for the records of one check (its directory, `names_of(report)`)."""

    def __init__(self, names: Directory) -> None:
        self.names = names
        self.records: dict[str, tuple[str, Entry]] = {}
        for kind in reversed(NAMED_KINDS):  # the first kind wins where two share an id
            for key, row in names.records.get(kind, {}).items():
                self.records[str(key)] = (kind, row)

    def row(self, kind: str, key: str | None) -> Entry | None:
        return self.names.row(kind, key) if key else None

    def unit(self, key: str | None) -> str:
        row = self.row("units", key)
        return row["name"] if row else (key or "")

    def person(self, key: str | None) -> str:
        row = self.row("persons", key)
        return row["name"] if row else (key or "")

    def institution(self, key: str | None) -> str:
        row = self.row("institutions", key)
        return f"《{row['title']}》" if row else (key or "")

    def record(self, kind: str, row: Entry) -> str:
        """What a record is, in a few words."""
        if kind == "institutions":
            return f"《{row['title']}》"
        if kind in ("units", "persons"):
            return row["name"]
        if kind == "tasks":
            if row.get("requirement"):
                return f"落实任务“{row['requirement']}”"
            if row.get("ledger"):
                return f"台帐编号为 {row['ledger']} 的落实任务"
            return f"{self.institution(row.get('institution'))}的一项落实任务"
        if kind == "inspections":
            return f"{chinese_date(row['date'])}的督办检查"
        if kind == "rectifications":
            return f"整改事项“{row['problem']}”"
        if kind == "misconduct":
            what = row.get("description") or MISCONDUCT_KIND.labels[row["kind"]]
            return f"违规行为“{what}”"
        if kind == "signals" and row.get("summary"):
            return f"问题线索“{row['summary']}”"
        date = row.get("date")
        zh = EVALUATED_KINDS[kind].ZH
        return f"{chinese_date(date)}的{zh}记录" if date else f"一条{zh}记录"

    def basis(self, key: str) -> str:
        """What a trigger answers (a misconduct or a rectification), with its date."""
        misconduct = self.row("misconduct", key)
        if misconduct is not None:
            what = MISCONDUCT_KIND.labels[misconduct["kind"]]
            detail = f"（{misconduct['description']}）" if misconduct.get("description") else ""
            return f"{chinese_date(misconduct['date'])}发生的{what}行为{detail}"
        rectification = self.row("rectifications", key)
        if rectification is not None:
            deadline = rectification.get("deadline")
            return (f"整改事项“{rectification['problem']}”"
                    + (f"（整改时限{chinese_date(deadline)}）" if deadline else ""))
        return self.plain(key)

    def plain(self, message: str) -> str:
        """`message` in the words of a document (see the module's docstring)."""
        text = _RULE_MENTION.sub("", message)
        text = _ID_IN_PARENS.sub(lambda m: "" if self._code(m[1]) else m[0], text)
        text = _MENTION.sub(self._mention, text)
        text = chinese_dates(text)
        for pattern, replacement in PHRASES:
            text = pattern.sub(replacement, text)
        return _SPACE.sub("", text).strip()

    def _code(self, token: str) -> bool:
        return token in self.records or bool(RULE_CODE.match(token))

    def _mention(self, match: re.Match[str]) -> str:
        found = self.records.get(match["id"])
        if found is None:
            return match[0]
        kind, row = found
        word, paren = match["word"] or "", match["paren"] or ""
        phrase = self.record(kind, row)
        if kind == "institutions":
            phrase = word + phrase  # 制度《…》, 重点制度《…》
        elif word and word not in phrase:
            phrase = word + phrase if kind not in ("inspections",) else phrase
        inner = paren[1:-1]
        repeats = {str(row.get(name)) for name in ("problem", "description", "date", "title")
                   if row.get(name)}
        if inner and (inner in repeats or inner.split("，")[0] in repeats and kind != "misconduct"):
            paren = ""
        return phrase + _MENTION.sub(self._mention, paren)  # ids inside it too
