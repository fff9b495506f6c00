"""The documents the office sends after a check, as data (docs/notices.md):

- one 整改通知书 per unit with findings to fix;
- one 情况报告 listing what no unit can be charged with (R101: an institution with no lead
  unit), to the body that must assign it;
- one document per trigger: 问责建议书, 预警通知, 再问责建议书 (the last to the discipline organ
  that must act).

A document has the parts of GB/T 9704-2012: 发文机关标志, 发文字号, title, 主送, body,
附件说明, 署名 and 成文日期, the attachment (附件：问题清单) and the 版记 (抄送, 印发机关 and
印发日期). The body speaks in plain words (`wording.py`): records by what they are, dates in
Chinese; ids, rule codes and where each record came from are in the attached list only.

Who sends what to whom is `Addressing` (configurable in luoshi.toml `[notices]`); a document is
never addressed to its own issuer. A document carries only the data of the unit it is about.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, field
from itertools import groupby
from typing import Any

from luoshi.engine.language import expr
from luoshi.engine.language.policy import Catalog
from luoshi.engine.runtime.directory import names_of
from luoshi.engine.runtime.results import Finding, Report, Trigger, render
from luoshi.engine.runtime.view import ViewError
from luoshi.facts.kinds import KINDS
from luoshi.facts.problems import InputError, Location, Problem
from luoshi.outputs.wording import Words, chinese_date

CLAUSES = {"二(一)": "责任体系", "二(二)": "督办检查", "二(三)": "考核问责", "二(四)": "反馈整改",
           "三": "强化领导"}
NUMERALS = "一二三四五六七八九十"
KIND_TITLES = {"rectification_notice": "整改通知书", "unassigned": "情况报告",
               "accountability": "问责建议书", "warning_measure": "预警通知",
               "re_accountability": "再问责建议书"}
SOURCE_DOCUMENT = "《关于建立惩治和预防腐败体系制度落实机制不断提升执行力的工作意见》（咸惩防办文〔2013〕3号）"
DEFAULT_REPLY_DAYS = 15
DEFAULT_ADDRESSING = {"rectification_notice": "unit", "accountability": "unit",
                      "warning_measure": "unit", "re_accountability": "discipline_organ",
                      "unassigned": "leading_group", "superior": "leading_group"}
DEFAULT_CC = ["discipline_organ"]
MAX_RECORDS = 5  # evidence named per row of the attached list; the rest counted
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')
_PLACE = re.compile(r"^(.*?[省市县区州盟旗])")


@dataclass
class Block:
    level: int  # 1: 一、heading; 0: body paragraph
    text: str


@dataclass
class Item:
    """A row of 附件：问题清单: the problem in words beside its codes and sources."""

    position: int
    text: str
    severity: str  # 问题 or 提醒
    rule: str  # "I205 检查结果未看效果、查进度或问原因"
    clause: str
    finding: str  # the finding's id (`luoshi explain ID`)
    records: str
    sources: str


@dataclass
class Document:
    kind: str  # a key of KIND_TITLES
    kind_title: str
    file_stem: str
    organ: str  # 发文机关
    number: str  # 发文字号
    title: str
    addressee: str  # 主送, with its colon
    unit: str | None  # the unit the document is about
    blocks: list[Block] = field(default_factory=list)
    closing: str = ""  # 特此通知。
    attachment: str = ""  # the attachment's title, "" for none
    items: list[Item] = field(default_factory=list)
    signature: str = ""
    date: str = ""  # 成文日期
    cc: list[str] = field(default_factory=list)  # 抄送
    printer: str = ""  # 印发机关
    printed: str = ""  # 印发日期

    def text(self) -> str:
        """The document as one reads it, without the attached list (for indexes and tests)."""
        parts = [self.organ, self.number, self.title, self.addressee,
                 *(block.text for block in self.blocks), self.closing,
                 f"附件：{self.attachment}" if self.attachment else "", self.signature,
                 self.date, "，".join(self.cc), self.printer, self.printed]
        return "\n".join(part for part in parts if part)

    def context(self) -> dict[str, Any]:
        """What templates see: the fields, and the 版记 lines as GB/T 9704 writes them."""
        data = asdict(self)
        data["cc_line"] = f"抄送：{'，'.join(self.cc)}。" if self.cc else ""
        data["print_line"] = self.printer
        return data


def ordinal(number: int) -> str:
    if number <= 10:
        return NUMERALS[number - 1]
    if number < 20:
        return "十" + NUMERALS[number - 11]
    tens, ones = divmod(number, 10)
    return NUMERALS[tens - 1] + "十" + (NUMERALS[ones - 1] if ones else "")


def safe_name(text: str, limit: int = 40) -> str:
    """A file-name part that is safe on every system, whatever a unit's name contains."""
    cleaned = _UNSAFE.sub("_", text).strip(" .") or "_"
    return cleaned[:limit]


class Addressing:
    """Who issues the documents and who receives each kind (luoshi.toml `[notices]`).

    A target is `unit` (the unit the document is about), `discipline_organ` (that unit's),
    `parent` (its 上级单位), `leading_group` (the 惩治和预防腐败体系建设领导小组 the office serves),
    a unit's id, or a name written out."""

    def __init__(self, report: Report, config: dict[str, Any] | None = None) -> None:
        config = config or {}
        self.names = names_of(report)
        self.words = Words(self.names)
        self.year = report.year
        organs = sorted(row["name"] for row in self.names.rows("units")
                        if row.get("kind") == "discipline")
        match = _PLACE.match(organs[0]) if organs else None
        self.place = match[1] if match else ""
        self.issuer = self._name(config.get("issuer")) or f"{self.place}惩防办"
        code = config.get("机关代字") or f"{self.place[:1]}惩防办"
        self.code = code.strip()
        self.targets = {**DEFAULT_ADDRESSING, **config.get("addressing", {})}
        self.cc = list(config.get("cc", DEFAULT_CC))
        self.printer = config.get("printer") or self.issuer
        self.next_number = int(config.get("first_number", 1))

    def number(self) -> str:
        """The next 发文字号: 机关代字〔年份〕序号号 (GB/T 9704-2012 7.2.4)."""
        number = f"{self.code}〔{self.year}〕{self.next_number}号"
        self.next_number += 1
        return number

    def resolve(self, target: str, unit: str | None) -> tuple[str, str | None]:
        """(name, unit id or None) of a target for the document about `unit`."""
        row = self.words.row("units", unit)
        if target == "unit":
            return self.words.unit(unit), unit
        if target == "discipline_organ":
            organ = row.get("organ") if row else None
            return (self.words.unit(organ), organ) if organ else self.resolve("leading_group", unit)
        if target == "parent":
            parent = row.get("parent") if row else None
            return (self.words.unit(parent), parent) if parent else self.resolve("leading_group", unit)
        if target == "leading_group":
            return f"{self.place}惩治和预防腐败体系建设领导小组", None
        if self.words.row("units", target) is not None:
            return self.words.unit(target), target
        return target, None

    def addressee(self, kind: str, unit: str | None) -> tuple[str, str | None]:
        """The 主送 of a document of this kind about `unit`: never the issuer itself."""
        name, key = self.resolve(self.targets[kind], unit)
        if name == self.issuer:
            name, key = self.resolve(self.targets["superior"], unit)
        if name == self.issuer:
            raise InputError([Problem(Location("luoshi.toml"), "C001",
                                      f"[notices] 的设置使{KIND_TITLES.get(kind, kind)}主送发文机关"
                                      f"{self.issuer}自己：请设置 notices.addressing.superior")])
        return name, key

    def copies(self, unit: str | None, addressee: str) -> list[str]:
        """抄送: each configured target, unless it is the addressee or the issuer."""
        names: list[str] = []
        for target in self.cc:
            name, _ = self.resolve(target, unit)
            if name not in (addressee, self.issuer, *names):
                names.append(name)
        return names

    def _name(self, value: str | None) -> str | None:
        if not value:
            return None
        return self.words.unit(value) if self.words.row("units", value) else value


def build(report: Report, catalog: Catalog, reply_days: int = DEFAULT_REPLY_DAYS,
          date: dt.date | None = None, config: dict[str, Any] | None = None) -> list[Document]:
    """Every document of this check, numbered in a fixed order (units by id, then triggers as
    `check` lists them), so the same run always gives the same numbers."""
    return _Builder(report, catalog, reply_days, date or report.as_of, config).build()


class _Builder:
    def __init__(self, report: Report, catalog: Catalog, reply_days: int, day: dt.date,
                 config: dict[str, Any] | None) -> None:
        self.report, self.catalog, self.day = report, catalog, day
        self.reply_by = day + dt.timedelta(days=reply_days)
        self.address = Addressing(report, config)
        self.words = self.address.words
        self.findings = {finding.id: finding for finding in report.findings}
        # The due date of the accountability a re-accountability answers, by basis and unit.
        self.due = {(t.basis, t.target_unit): t.due for t in reversed(report.triggers)
                    if t.type == "accountability" and t.due}
        self.documents: list[Document] = []

    def build(self) -> list[Document]:
        # A finding that raised a re-accountability is the discipline organ's to act on: it goes
        # to the 再问责建议书, not to the unit's list of things to fix.
        for_organ = {t.finding for t in self.report.triggers if t.type == "re_accountability"}
        charged = sorted((f for f in self.report.findings if f.unit and f.id not in for_organ),
                         key=lambda f: (f.unit, _clause_order(f.clause), f.rule, f.subject))
        for unit, findings in groupby(charged, key=lambda f: f.unit):
            self._rectification(unit, list(findings))
        unassigned = [f for f in self.report.findings if not f.unit]
        if unassigned:
            self._unassigned(unassigned)
        for trigger in self.report.triggers:
            self._trigger(trigger)
        return self.documents

    # -- the kinds ------------------------------------------------------------------------

    def _rectification(self, unit: str, findings: list[Finding]) -> None:
        name = self.words.unit(unit)
        document = self._document("rectification_notice", unit,
                                  f"关于{name}惩防体系制度落实问题限期整改的通知", name)
        you = "你单位" if document.addressee == f"{name}：" else name
        warnings = sum(f.severity == "warning" for f in findings)
        document.blocks.append(Block(0, (
            f"根据{SOURCE_DOCUMENT}，{self.address.issuer}对{you}{self.report.year}年度惩防体系"
            f"制度落实情况（截至{chinese_date(self.report.as_of)}）进行了检查，发现问题"
            f"{len(findings)}个" + (f"（其中提醒事项{warnings}个）" if warnings else "")
            + "。现将有关问题通知如下：")))
        position = 0
        for section, (clause, items) in enumerate(groupby(findings, key=lambda f: f.clause),
                                                  start=1):
            document.blocks.append(Block(1, f"{ordinal(section)}、{CLAUSES.get(clause, clause)}方面"))
            for finding in items:
                position += 1
                text = self._item(document, position, finding, name, you)
                document.blocks.append(Block(0, f"{position}．{text}"))
        document.blocks.append(Block(0, (
            f"请{you}对照上述问题逐项整改，明确整改责任人和整改时限，实行销号管理，并于"
            f"{chinese_date(self.reply_by)}前将整改情况书面报送{self.address.issuer}。")))
        document.closing = "特此通知。"

    def _unassigned(self, findings: list[Finding]) -> None:
        year = self.report.year
        document = self._document("unassigned", None,
                                  f"关于{year}年度惩防体系制度落实检查中无法确定责任单位问题的报告",
                                  "")
        document.blocks.append(Block(0, (
            f"根据{SOURCE_DOCUMENT}，{self.address.issuer}对{year}年度惩防体系制度落实情况"
            f"（截至{chinese_date(self.report.as_of)}）进行了检查。检查中发现以下{len(findings)}个"
            "问题无法归属任何责任单位，需研究明确责任：")))
        for position, finding in enumerate(
                sorted(findings, key=lambda f: (_clause_order(f.clause), f.rule, f.subject)), 1):
            document.blocks.append(Block(0, f"{position}．{self._item(document, position, finding)}"))
        document.blocks.append(Block(0, "建议尽快明确上述制度的牵头单位和配合单位，落实主抓责任和"
                                        "配合责任，并纳入下一年度的检查。"))
        document.closing = "特此报告。"

    def _trigger(self, trigger: Trigger) -> None:
        unit = trigger.target_unit
        name = self.words.unit(unit) if unit else "有关单位"
        who = self._person(trigger.target_person, unit) if trigger.target_person else None
        finding = self.findings.get(trigger.finding)
        found = self._plain(finding) if finding else self.words.basis(trigger.basis)
        if trigger.type == "accountability":
            title = f"关于对{who or name + '有关责任人'}进行问责的建议"
            document = self._document("accountability", unit, title, name, trigger)
            you = "你单位" if document.addressee == f"{name}：" else name
            document.blocks.append(Block(0, f"经检查，{_address(found, name, you)}。"))
            document.blocks.append(Block(0, self._deadline(trigger.due) + (
                f"建议{you}依照有关规定对{who or '有关责任人'}严肃问责，并于"
                f"{chinese_date(self._report_by(trigger.due))}前将处理情况书面报送"
                f"{self.address.issuer}。")))
            document.closing = "以上建议，请研究办理。"
        elif trigger.type == "warning_measure":
            document = self._document("warning_measure", unit,
                                      f"关于对{who or name + '有关责任人'}采取预警措施的通知",
                                      name, trigger)
            you = "你单位" if document.addressee == f"{name}：" else name
            document.blocks.append(Block(0, f"经检查，{_address(found, name, you)}。"))
            document.blocks.append(Block(0, (
                f"根据{SOURCE_DOCUMENT}关于对故意推诿拖延、拒不实施重要措施的相关责任人采取预警措施"
                f"的规定，请{you}对{who or '有关责任人'}采取责令说明原因、谈话提醒等预警措施，并于"
                f"{chinese_date(self.reply_by)}前将落实情况书面报送{self.address.issuer}。")))
            document.closing = "特此通知。"
        else:
            document = self._document("re_accountability", unit,
                                      f"关于对{name}应问责未问责问题进行再问责的建议", name,
                                      trigger)
            due = self._accountability_due(trigger)
            late = (f"按规定应于{chinese_date(due)}前问责，截至{chinese_date(self.report.as_of)}"
                    f"仍未问责，已逾期{(self.day - due).days}天") if due else "应当问责而没有问责"
            basis = self.words.basis(trigger.basis)
            joined = f"{name}的{basis}" if basis.startswith("整改事项") else f"{name}{basis}"
            document.blocks.append(Block(0, f"经检查，{joined}，{late}。"))
            document.blocks.append(Block(0, (
                f"根据{SOURCE_DOCUMENT}“对应该问责而没有问责的，纪检监察机关应根据民意调查、群众来信"
                f"来访、明察暗访等情况，对相关责任主体进行‘再问责’”的规定，建议"
                f"{document.addressee.rstrip('：')}对{name}未履行问责职责的相关责任主体进行再问责，并于"
                f"{chinese_date(self.reply_by)}前将处理情况书面反馈{self.address.issuer}。")))
            document.closing = "以上建议，请研究办理。"
        if finding is not None:
            self._item(document, 1, finding, name)

    # -- parts ----------------------------------------------------------------------------

    def _document(self, kind: str, unit: str | None, title: str, name: str,
                  trigger: Trigger | None = None) -> Document:
        addressee, _ = self.address.addressee(kind, unit)
        stem = f"{len(self.documents) + 1:03d}-{KIND_TITLES[kind]}-{safe_name(name or addressee)}"
        if trigger is not None:
            stem += f"-{safe_name(trigger.basis, 20)}"
        document = Document(
            kind, KIND_TITLES[kind], stem, self.address.issuer, self.address.number(), title,
            f"{addressee}：", unit, attachment="问题清单", signature=self.address.issuer,
            date=chinese_date(self.day), cc=self.address.copies(unit, addressee),
            printer=self.address.printer, printed=f"{chinese_date(self.day)}印发")
        self.documents.append(document)
        return document

    def _item(self, document: Document, position: int, finding: Finding, name: str = "",
              you: str = "") -> str:
        """The finding in words for the body, and its row in the attached list."""
        text = _address(self._plain(finding), name, you)
        warning = finding.severity == "warning"
        rule = self.catalog.rules.get(finding.rule)
        evidence = [e for e in finding.evidence if self._home(e) in (None, document.unit)]
        records = [f"{_kind_name(e.kind)} {e.id}" for e in evidence]
        sources = sorted({e.source for e in evidence if e.source})
        document.items.append(Item(
            position, text, "提醒" if warning else "问题",
            f"{finding.rule} {rule.title.zh}" if rule else finding.rule, finding.clause,
            finding.id, _some(records), _some(sources)))
        return text + ("（提醒事项）。" if warning else "。")

    def _home(self, evidence: Any) -> str | None:
        """The unit a record of the evidence belongs to, where it has one: a document lists
        no record of another unit (R104's evidence holds the other unit's person)."""
        row = self.words.row(evidence.kind, evidence.id)
        if row is None:
            return None
        return row.get("id") if evidence.kind == "units" else row.get("unit")

    def _plain(self, finding: Finding) -> str:
        """The rule's own words for a notice (`finding.notice`, which sees only `$subject` and
        `$unit`, so it cannot name anyone else) or its message, in plain words."""
        rule = self.catalog.rules.get(finding.rule)
        message = finding.message
        if rule is not None and rule.finding.notice:
            context = {**self.address.names.context, "subject": finding.subject,
                       "unit": finding.unit}
            try:
                message = render(rule.finding.notice, expr.Env({}, context, _NO_RECORDS))
            except ViewError:  # wording that reads records: the message says it as well
                pass
        return self.words.plain(message).rstrip("。")

    def _person(self, person: str, unit: str | None) -> str:
        row = self.words.row("persons", person)
        if row is None:
            return person
        post = row.get("post") or ""
        home = self.words.unit(row.get("unit")) if row.get("unit") else ""
        return f"{home}{post}{row['name']}" if post else f"{home}{row['name']}"

    def _deadline(self, due: dt.date | None) -> str:
        if due is None:
            return ""
        if due < self.day:
            return f"依照规定，应于{chinese_date(due)}前问责，已逾期{(self.day - due).days}天。"
        return f"依照规定，应于{chinese_date(due)}前问责。"

    def _report_by(self, due: dt.date | None) -> dt.date:
        """When to report back: `reply_days` after the document, or the due date if later."""
        return max(self.reply_by, due) if due and due > self.day else self.reply_by

    def _accountability_due(self, trigger: Trigger) -> dt.date | None:
        return self.due.get((trigger.basis, trigger.target_unit))


class _NoRecords:
    """What a notice's wording evaluates against: `$subject`, `$unit` and the check's context
    only, no records (a document is made from the directory, not the facts)."""

    def field(self, row: dict[str, Any], name: str) -> Any:
        raise ViewError(name)

    def follow(self, row: dict[str, Any], name: str) -> dict[str, Any] | None:
        raise ViewError(name)

    def aggregate(self, node: expr.Aggregate, env: expr.Env) -> Any:
        raise ViewError("aggregate")


_NO_RECORDS = _NoRecords()


def _address(text: str, name: str, you: str) -> str:
    """"你单位" for the unit's own name where a sentence to that unit starts with it."""
    return you + text[len(name):] if you and name and text.startswith(name) else text


def _kind_name(kind: str) -> str:
    model = KINDS.get(kind)
    return model.ZH if model else "问责触发"


def _some(values: list[str]) -> str:
    shown = "；".join(values[:MAX_RECORDS])
    return shown + (f"等 {len(values)} 条" if len(values) > MAX_RECORDS else "")


def _clause_order(clause: str) -> int:
    order = list(CLAUSES)
    return order.index(clause) if clause in order else len(order)
