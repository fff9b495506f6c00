"""The documents the office sends after a check, as data: one rectification notice (整改通知书)
per unit with findings, and one document per trigger: 问责建议书, 预警通知, 再问责建议书.

A document follows the parts of a Chinese official document (GB/T 9704): issuing organ,
number, title, addressee, body, signature and date. Its body is a list of blocks (headings and
numbered paragraphs); `documents.py` renders them through editable templates.

A notice carries only its addressee's data: its own findings, its own people; the discipline
organ appears as the issuer. Findings whose message names someone else (R104 names the person
of another unit) are worded for the notice by the rule's `finding.notice` template.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from luoshi.engine.language import expr
from luoshi.facts.kinds import MISCONDUCT_KIND

from luoshi.engine.language.policy import Catalog
from luoshi.engine.runtime.results import Finding, Trigger, render
from luoshi.engine.runtime.results import Report

CLAUSES = {"二(一)": "责任体系", "二(二)": "督办检查", "二(三)": "考核问责", "二(四)": "反馈整改",
           "三": "强化领导"}
NUMERALS = "一二三四五六七八九十"
TRIGGER_TITLES = {"accountability": "问责建议书", "warning_measure": "预警通知",
                  "re_accountability": "再问责建议书"}
SOURCE_DOCUMENT = "《关于建立惩治和预防腐败体系制度落实机制不断提升执行力的工作意见》（咸惩防办文〔2013〕3号）"
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


@dataclass
class Block:
    level: int  # 1: 一、heading; 2: （一）heading; 0: body paragraph
    text: str


@dataclass
class Document:
    kind: str  # rectification_notice, accountability, warning_measure, re_accountability
    kind_title: str
    file_stem: str
    organ: str
    number: str
    title: str
    addressee: str
    unit: str | None  # the unit the document is about
    blocks: list[Block] = field(default_factory=list)
    signature: str = ""
    date: str = ""

    def text(self) -> str:
        """All of it as plain text (for indexes and tests)."""
        parts = [self.organ, self.number, self.title, self.addressee,
                 *(block.text for block in self.blocks), self.signature, self.date]
        return "\n".join(parts)


def chinese_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def ordinal(number: int) -> str:
    if number <= 10:
        return NUMERALS[number - 1]
    if number < 20:
        return "十" + (NUMERALS[number - 11] if number > 10 else "")
    tens, ones = divmod(number, 10)
    return NUMERALS[tens - 1] + "十" + (NUMERALS[ones - 1] if ones else "")


def safe_name(text: str, limit: int = 40) -> str:
    """A file-name part that is safe on every system, whatever a unit's name contains."""
    cleaned = _UNSAFE.sub("_", text).strip(" .") or "_"
    return cleaned[:limit]


def build(report: Report, catalog: Catalog, reply_days: int = 30,
          date: dt.date | None = None) -> list[Document]:
    view = report.view
    day = date or report.as_of
    documents: list[Document] = []
    numbers: dict[str, int] = {}

    def number_for(organ: str, kind: str) -> str:
        key = f"{organ}{kind}"
        numbers[key] = numbers.get(key, 0) + 1
        return f"{organ}{kind}〔{report.year}〕{numbers[key]}号"

    by_unit = groupby(sorted((f for f in report.findings if f.unit),
                             key=lambda f: (f.unit, _clause_order(f.clause), f.rule, f.subject)),
                      key=lambda f: f.unit)
    for unit, findings in by_unit:
        findings = list(findings)
        organ = _organ_name(view, unit)
        name = _unit_name(view, unit)
        document = Document(
            "rectification_notice", "整改通知书",
            f"{len(documents) + 1:03d}-整改通知书-{safe_name(name)}", organ,
            number_for(organ, "整改"),
            f"关于{name}惩防体系制度落实问题限期整改的通知", f"{name}：", unit,
            signature=organ, date=chinese_date(day))
        reply_by = day + dt.timedelta(days=reply_days)
        document.blocks.append(Block(0, (
            f"根据{SOURCE_DOCUMENT}，对你单位报送的 {report.year} 年度惩防体系制度落实情况"
            f"（截至 {chinese_date(report.as_of)}）进行了检查，发现以下 {len(findings)} 个问题。"
            f"现通知你单位限期整改，并于 {chinese_date(reply_by)}前将整改情况书面报送{organ}。")))
        for section, (clause, items) in enumerate(
                groupby(findings, key=lambda f: f.clause), start=1):
            document.blocks.append(Block(1, f"{ordinal(section)}、{CLAUSES.get(clause, clause)}"
                                            f"方面的问题（原文{clause}）"))
            for position, finding in enumerate(items, start=1):
                rule = catalog.rules[finding.rule]
                severity = "" if finding.severity == "error" else "【提醒】"
                document.blocks.append(Block(0, (
                    f"{position}. {severity}{_notice_message(report, catalog, finding)}"
                    f"涉及：{_subject_text(view, finding)}（规则 {finding.rule}：{rule.title.zh}）。")))
        document.blocks.append(Block(0, "请对照上述问题逐项整改，明确整改责任人和整改时限，"
                                        "实行“销号”管理。"))
        documents.append(document)
    for trigger in report.triggers:
        documents.append(_trigger_document(report, trigger, len(documents) + 1, day, number_for))
    return documents


def _trigger_document(report: Report, trigger: Trigger, position: int, day: dt.date,
                      number_for: Any) -> Document:
    view = report.view
    unit = trigger.target_unit
    name = _unit_name(view, unit)
    organ = _unit_name(view, trigger.issuer) if trigger.issuer else _organ_name(view, unit)
    person = _person_name(view, trigger.target_person) if trigger.target_person else None
    basis = _basis_text(view, trigger.basis)
    kind_title = TRIGGER_TITLES[trigger.type]
    subject = f"{person}（{name}）" if person else name
    if trigger.type == "accountability":
        title = f"关于对{subject}进行问责的建议"
        body = [f"经检查，{name}的{basis}依据规则 {trigger.rule} 应予问责，截至"
                f" {chinese_date(report.as_of)} 尚无问责记录。",
                f"建议对{subject}依照有关规定严肃问责，并于 {chinese_date(trigger.due)}前"
                f"将问责处理情况报送{organ}。" if trigger.due else
                f"建议对{subject}依照有关规定严肃问责，并将问责处理情况报送{organ}。"]
        number = number_for(organ, "问责建议")
    elif trigger.type == "warning_measure":
        title = f"关于对{subject}采取预警措施的通知"
        body = [f"经检查，{name}的{basis}属于对重要措施故意推诿拖延或拒不实施。",
                f"请对{person or '相关责任人'}采取责令说明原因、谈话提醒等预警措施，"
                f"并将落实情况报送{organ}。"]
        number = number_for(organ, "预警")
    else:
        title = f"关于对{name}进行再问责的建议"
        body = [f"{name}的{basis}应当问责而没有问责（规则 {trigger.rule}），"
                f"截至 {chinese_date(report.as_of)} 已超过问责期限。",
                f"根据{SOURCE_DOCUMENT}关于“再问责”的规定，建议由{organ}对{name}"
                f"未履行问责职责的责任主体进行再问责。"]
        number = number_for(organ, "再问责建议")
    stem = f"{position:03d}-{kind_title}-{safe_name(name)}-{safe_name(trigger.basis, 20)}"
    return Document(trigger.type, kind_title, stem, organ, number, title, f"{name}：", unit,
                    [Block(0, text) for text in body], organ, chinese_date(day))


def _clause_order(clause: str) -> int:
    order = list(CLAUSES)
    return order.index(clause) if clause in order else len(order)


def _notice_message(report: Report, catalog: Catalog, finding: Finding) -> str:
    """The finding in the words of the notice: the rule's `notice` wording where it has one
    (rendered with `$subject` and `$unit` only, so it cannot name anyone else)."""
    rule = catalog.rules[finding.rule]
    if not rule.finding.notice:
        return finding.message.rstrip("。") + "。"
    context = {**report.view.context, "subject": finding.subject, "unit": finding.unit}
    return render(rule.finding.notice, expr.Env({}, context, report.view)).rstrip("。") + "。"


def _record(view: Any, finding: Finding) -> dict[str, Any] | None:
    """The record a finding's subject names: among its evidence, else by id."""
    for item in finding.evidence:
        if item.id == finding.subject:
            for row in view.rows.get(item.kind, []):
                if row.get("__label__") == item.id:
                    return row
    for kind in ("institutions", "units", "rectifications", "misconduct", "inspections", "tasks"):
        row = view.by_id.get(kind, {}).get(finding.subject)
        if row is not None:
            return row
    return None


def _subject_text(view: Any, finding: Finding) -> str:
    """The record a finding concerns, by its title or name."""
    row = _record(view, finding)
    if row is None:
        return finding.subject
    kind = row["__kind__"]
    if kind == "institutions":
        return f"《{row['title']}》"
    if kind == "units":
        return row["name"]
    if kind == "tasks":
        title = view.by_id["institutions"].get(row["institution"], {}).get("title")
        return f"落实任务 {row['id']}" + (f"（《{title}》）" if title else "")
    if kind == "inspections":
        return f"{row['date'].isoformat()} 的督办检查 {row['id']}"
    if kind == "inspection_results":
        title = view.by_id["institutions"].get(row["institution"], {}).get("title")
        return f"督办检查 {row['inspection']} 对《{title or row['institution']}》的检查结果"
    return _basis_text(view, row.get("id") or row["__label__"])


def _basis_text(view: Any, basis: str) -> str:
    misconduct = view.by_id.get("misconduct", {}).get(basis)
    if misconduct is not None:
        what = misconduct.get("description") or MISCONDUCT_KIND.labels[misconduct["kind"]]
        return f"违规行为 {basis}（{what}，{misconduct['date'].isoformat()}）"
    rectification = view.by_id.get("rectifications", {}).get(basis)
    if rectification is not None:
        deadline = rectification.get("deadline")
        return (f"整改事项 {basis}（{rectification['problem']}"
                + (f"，整改时限 {deadline.isoformat()}" if deadline else "") + "）")
    return basis


def _unit_name(view: Any, unit: str | None) -> str:
    if unit is None:
        return "（未确定单位）"
    row = view.by_id["units"].get(unit)
    return row["name"] if row else unit


def _person_name(view: Any, person: str) -> str:
    row = view.by_id["persons"].get(person)
    return row["name"] if row else person


def _organ_name(view: Any, unit: str | None) -> str:
    row = view.by_id["units"].get(unit) if unit else None
    organ = view.field(row, "organ") if row else None
    return _unit_name(view, organ) if organ else "纪检监察机关"

