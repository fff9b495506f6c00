"""The fact model: one pydantic model per kind of record a unit submits (facts.md).

These models are the one schema of the project: the loaders validate against them, the store's
tables are derived from them, `luoshi schema` prints them as JSON Schema, and the XLSX template
and CSV headers use their Chinese titles.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from functools import cache
from typing import Any, ClassVar, get_args

from pydantic import BaseModel, ConfigDict, Field

from .values import (
    Choice,
    Day,
    Flag,
    Int,
    Number,
    RequiredDay,
    RequiredInt,
    RequiredText,
    Text,
    TextList,
)


def field(zh: str, default: Any = ..., *, ref: str | tuple[str, ...] | None = None) -> Any:
    """A field with its Chinese title and, for a reference, the kind(s) whose id it holds."""
    extra = {"ref": list(ref) if isinstance(ref, tuple) else [ref]} if ref else None
    return Field(default, title=zh, json_schema_extra=extra)  # type: ignore[arg-type]


class Fact(BaseModel):
    """One submitted record. Subclasses name their kind, its Chinese name and its key."""

    # A model's validator is built when first used: a command reads a few kinds, or (a check
    # of the store) only their fields, and building all 20 costs a tenth of a second.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    KIND: ClassVar[str]
    ZH: ClassVar[str]
    # The fields that identify a record: `id` where the kind has one, else its natural key
    # (loading a record with an existing key updates it instead of adding a copy).
    KEY: ClassVar[tuple[str, ...]] = ("id",)
    # As of a date D: a record whose DATED field is after D does not exist yet, and EVENTS
    # fields after D have not happened yet (a rectification closed after D is open at D).
    DATED: ClassVar[str | None] = None
    EVENTS: ClassVar[tuple[str, ...]] = ()
    # The path to the unit a record belongs to, which groups records into per-unit sessions.
    HOME: ClassVar[str | None] = "unit"
    # Who submits a record (`load --unit U` may hold only U's records): the path to that unit,
    # the record's HOME unless stated; None for the reference kinds, which the office keeps.
    OWNER: ClassVar[str | None]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "OWNER" not in cls.__dict__:
            cls.OWNER = cls.HOME

    def key(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.KEY)


UNIT_KIND = Choice(
    party_committee="党委(党组)", discipline="纪检监察机关", department="部门", county="县市区",
    people_org="人民团体", zone="开发区", office="办公室",
)
INSTITUTION_SOURCE = Choice(provincial="省委配套制度", municipal="市委制度", other="其他")
INSTITUTION_STATUS = Choice(in_force="有效", abolished="废止")
INSPECTION_KIND = Choice(regular="经常性督办", surprise="突击性检查")
INSPECTION_SCOPE = Choice(comprehensive="全面普查", spot="重点抽查")
INSPECTION_MODE = Choice(open="明察", unannounced="暗访")
RESULT_STATUS = Choice(implemented="已落实", in_progress="正在落实", not_implemented="未落实")
SUPPORTING_SYSTEM = Choice(
    liaison_meeting="联系会议", situation_report="重要情况通报", result_feedback="督查结果反馈",
    rectification="整改落实",
)
CHECK_KIND = Choice(key_area="重点领域", key_post="重要岗位", risk_point="风险点")
MISCONDUCT_KIND = Choice(
    disobey_order="有令不行", defy_ban="有禁不止", arbitrary_change="随意变通",
    malicious_evasion="恶意规避", delay="故意推诿拖延", refusal="拒不实施",
)
WARNING_KIND = Choice(explain="责令说明原因", talk="谈话提醒")
SIGNAL_KIND = Choice(survey="民意调查", letter_visit="群众来信来访", inspection="明察暗访")
REVIEW_KIND = Choice(evaluation="评估", demonstration="论证", examination="审查", cleanup="立改废留清理")
REVIEW_OUTCOME = Choice(establish="立", revise="改", abolish="废", retain="留")

# Accountability and signals name "the id of a misconduct or rectification".
BASIS_KINDS = ("misconduct", "rectifications")


class Unit(Fact):
    KIND = "units"
    ZH = "单位"
    OWNER = None
    HOME = "id"
    id: RequiredText = field("编号")
    name: RequiredText = field("名称")
    kind: UNIT_KIND.field(True) = field("类型")  # type: ignore[valid-type]
    parent: Text = field("上级单位", None, ref="units")
    party_secretary: Text = field("第一责任人", None, ref="persons")
    main_leader: Text = field("主要领导", None, ref="persons")
    responsible_body: Text = field("责任机构", None)
    discipline_organ: Text = field("纪检监察机关", None, ref="units")


class Person(Fact):
    KIND = "persons"
    ZH = "人员"
    OWNER = None
    id: RequiredText = field("编号")
    name: RequiredText = field("姓名")
    unit: RequiredText = field("所在单位", ref="units")
    post: Text = field("职务", None)
    discipline_leader: Flag = field("纪检领导", False)


class Institution(Fact):
    KIND = "institutions"
    ZH = "制度"
    OWNER = None
    EVENTS = ("revised_on",)
    HOME = "lead_unit"
    id: RequiredText = field("编号")
    title: RequiredText = field("名称")
    source: INSTITUTION_SOURCE.field(True) = field("来源")  # type: ignore[valid-type]
    lead_unit: Text = field("牵头单位", None, ref="units")
    cooperating_units: TextList = field("配合单位", [], ref="units")
    important_measure: Flag = field("重要措施", False)
    status: INSTITUTION_STATUS.field(True) = field("状态", "in_force")  # type: ignore[valid-type]
    adopted_on: Day = field("出台日期", None)
    revised_on: Day = field("修订日期", None)


class Task(Fact):
    KIND = "tasks"
    ZH = "落实任务"
    id: RequiredText = field("编号")
    institution: RequiredText = field("制度", ref="institutions")
    unit: Text = field("责任单位", None, ref="units")
    leader: Text = field("责任领导", None, ref="persons")
    person: Text = field("责任人员", None, ref="persons")
    requirement: Text = field("履责要求", None)
    ledger: Text = field("台帐编号", None)


class KeyInstitution(Fact):
    KIND = "key_institutions"
    ZH = "重点制度"
    KEY = ("unit", "year", "institution")
    unit: RequiredText = field("责任单位", ref="units")
    year: RequiredInt = field("年度")
    institution: RequiredText = field("制度", ref="institutions")


class LeaderLink(Fact):
    KIND = "leader_links"
    ZH = "联系领导"
    HOME = "person.unit"
    KEY = ("person", "institution", "year")
    person: RequiredText = field("联系领导", ref="persons")
    institution: RequiredText = field("制度", ref="institutions")
    year: RequiredInt = field("年度")


class Inspection(Fact):
    KIND = "inspections"
    ZH = "督办检查"
    DATED = "date"
    EVENTS = ("published_on",)
    HOME = "organizer"
    id: RequiredText = field("编号")
    organizer: RequiredText = field("组织单位", ref="units")
    target_unit: Text = field("被检查单位", None, ref="units")
    date: RequiredDay = field("日期")
    kind: INSPECTION_KIND.field(True) = field("方式")  # type: ignore[valid-type]
    scope: INSPECTION_SCOPE.field(True) = field("范围")  # type: ignore[valid-type]
    mode: INSPECTION_MODE.field(True) = field("形式")  # type: ignore[valid-type]
    special: Flag = field("专项", False)
    institutions: TextList = field("检查制度", [], ref="institutions")
    led_by: Text = field("带队领导", None, ref="persons")
    re_supervision: Flag = field("再督查", False)
    published_on: Day = field("通报日期", None)


class InspectionResult(Fact):
    KIND = "inspection_results"
    ZH = "检查结果"
    HOME = "inspection.organizer"
    KEY = ("inspection", "institution")
    inspection: RequiredText = field("督办检查", ref="inspections")
    institution: RequiredText = field("制度", ref="institutions")
    status: RESULT_STATUS.field(True) = field("落实情况")  # type: ignore[valid-type]
    effect: Text = field("效果", None)
    progress: Text = field("进度", None)
    reason: Text = field("原因", None)


class SupportingSystem(Fact):
    KIND = "supporting_systems"
    ZH = "配套制度"
    DATED = "established_on"
    KEY = ("unit", "kind")
    unit: RequiredText = field("单位", ref="units")
    kind: SUPPORTING_SYSTEM.field(True) = field("类型")  # type: ignore[valid-type]
    established_on: Day = field("建立日期", None)


class Appraisal(Fact):
    KIND = "appraisals"
    ZH = "考核评估"
    DATED = "date"
    EVENTS = ("published_on",)
    KEY = ("unit", "year")
    unit: RequiredText = field("单位", ref="units")
    year: RequiredInt = field("年度")
    date: RequiredDay = field("日期")
    score: Number = field("得分", None)
    rank: Int = field("排名", None)
    published_on: Day = field("排名通报日期", None)
    in_performance_review: Flag = field("纳入绩效考核", False)
    in_responsibility_check: Flag = field("纳入责任制检查", False)


class Check(Fact):
    KIND = "checks"
    ZH = "三查"
    DATED = "date"
    KEY = ("unit", "date", "kind")
    unit: RequiredText = field("单位", ref="units")
    date: RequiredDay = field("日期")
    kind: CHECK_KIND.field(True) = field("类型")  # type: ignore[valid-type]


class Misconduct(Fact):
    KIND = "misconduct"
    ZH = "违规行为"
    DATED = "date"
    id: RequiredText = field("编号")
    unit: RequiredText = field("单位", ref="units")
    person: Text = field("责任人", None, ref="persons")
    date: RequiredDay = field("日期")
    kind: MISCONDUCT_KIND.field(True) = field("类型")  # type: ignore[valid-type]
    institution: Text = field("制度", None, ref="institutions")
    description: Text = field("情况", None)


class Accountability(Fact):
    KIND = "accountability"
    ZH = "问责"
    DATED = "date"
    HOME = "target_unit"
    id: RequiredText = field("编号")
    basis: RequiredText = field("依据", ref=BASIS_KINDS)
    target_unit: RequiredText = field("问责单位", ref="units")
    target_person: Text = field("问责对象", None, ref="persons")
    date: RequiredDay = field("日期")
    measure: Text = field("措施", None)
    re: Flag = field("再问责", False)


class WarningMeasure(Fact):
    KIND = "warning_measures"
    ZH = "预警措施"
    DATED = "date"
    HOME = "basis.unit"
    id: RequiredText = field("编号")
    basis: RequiredText = field("依据", ref="misconduct")
    person: RequiredText = field("对象", ref="persons")
    date: RequiredDay = field("日期")
    kind: WARNING_KIND.field(True) = field("类型")  # type: ignore[valid-type]


class Rectification(Fact):
    KIND = "rectifications"
    ZH = "整改事项"
    EVENTS = ("closed_on",)
    id: RequiredText = field("编号")
    unit: RequiredText = field("责任单位", ref="units")
    person: Text = field("责任人", None, ref="persons")
    problem: RequiredText = field("问题")
    inspection: Text = field("来源检查", None, ref="inspections")
    institution: Text = field("制度", None, ref="institutions")
    deadline: Day = field("整改时限", None)
    closed_on: Day = field("销号日期", None)


class Signal(Fact):
    KIND = "signals"
    ZH = "问题线索"
    DATED = "date"
    id: RequiredText = field("编号")
    kind: SIGNAL_KIND.field(True) = field("类型")  # type: ignore[valid-type]
    date: RequiredDay = field("日期")
    unit: RequiredText = field("单位", ref="units")
    about: Text = field("涉及事项", None, ref=BASIS_KINDS)
    summary: Text = field("摘要", None)


class Review(Fact):
    KIND = "reviews"
    ZH = "制度评审"
    DATED = "date"
    HOME = "institution.lead_unit"
    KEY = ("institution", "date", "kind", "outcome")  # all fields (facts.md)
    institution: RequiredText = field("制度", ref="institutions")
    date: RequiredDay = field("日期")
    kind: REVIEW_KIND.field(True) = field("类型")  # type: ignore[valid-type]
    outcome: REVIEW_OUTCOME.field(False) = field("结论", None)  # type: ignore[valid-type]


class Education(Fact):
    KIND = "education"
    ZH = "学习教育"
    DATED = "date"
    KEY = ("unit", "date", "title")
    unit: RequiredText = field("单位", ref="units")
    date: RequiredDay = field("日期")
    title: Text = field("主题", None)


class Lookback(Fact):
    KIND = "lookbacks"
    ZH = "回头看"
    DATED = "date"
    KEY = ("unit", "date", "plan")  # all fields (facts.md)
    unit: RequiredText = field("单位", ref="units")
    date: RequiredDay = field("日期")
    plan: Text = field("工作方案", None)


KINDS: dict[str, type[Fact]] = {model.KIND: model for model in Fact.__subclasses__()}


class RectificationVersion(Fact):
    """One stored version of a rectification, with the load that brought it: history the
    store provides (never submitted, so not in KINDS, the schema or the template). Read by F407;
    in file mode there is none."""

    KIND = "rectification_versions"
    ZH = "整改事项的历次版本"
    HOME = "rectification.unit"
    OWNER = None
    KEY = ("rectification", "load")
    rectification: RequiredText = field("整改事项", ref="rectifications")
    closed_on: Day = field("销号日期", None)
    load: RequiredInt = field("导入编号")
    received: RequiredDay = field("收到日期")  # the load's --received date (local time)


# Kinds the store derives from its history; policies read them like the submitted kinds.
HISTORY_KINDS: dict[str, type[Fact]] = {RectificationVersion.KIND: RectificationVersion}
# Every kind a policy can read.
EVALUATED_KINDS: dict[str, type[Fact]] = {**KINDS, **HISTORY_KINDS}
_KIND_NAMES = {name: kind for kind, model in KINDS.items() for name in (kind, model.ZH)}


def resolve_kind(name: object) -> str | None:
    """The code name of a kind written by its code name or its Chinese name."""
    return _KIND_NAMES.get(name.strip()) if isinstance(name, str) else None


# What a file or sheet name gains when it is a copy: "education (2).csv" (a browser's second
# download, Windows), "education（2）.csv" (the portal's second upload of the same name),
# "单位 (2)" (Excel's copied sheet), "education - 副本.csv" (Windows' copy).
_COPY_MARK = re.compile(r"(\s*-\s*(副本|copy))?(\s*[（(]\d{1,4}[)）])?$", re.IGNORECASE)


def table_kind(name: str) -> str | None:
    """The kind a CSV file's or a sheet's name stands for, a copy's name included."""
    return resolve_kind(name) or resolve_kind(_COPY_MARK.sub("", name.strip()))


def suggest_kind(name: str) -> str | None:
    """The kind a mistyped kind name most likely meant."""
    close = difflib.get_close_matches(name, list(_KIND_NAMES), n=1, cutoff=0.6)
    return _KIND_NAMES[close[0]] if close else None


def suggest_field(kind: str, name: str) -> str | None:
    """The field of `kind` a mistyped field name most likely meant."""
    names = _field_names(kind)
    close = difflib.get_close_matches(name, list(names), n=1, cutoff=0.6)
    return names[close[0]] if close else None


def kind_choices() -> str:
    return "、".join(f"{kind}（{model.ZH}）" for kind, model in KINDS.items())


def resolve_field(kind: str, name: object) -> str | None:
    """The code name of a field of `kind` written by its code name or its Chinese title."""
    if not isinstance(name, str):
        return None
    return _field_names(kind).get(name.strip())


def field_choices(kind: str) -> str:
    fields = KINDS[kind].model_fields
    return "、".join(f"{name}（{info.title}）" for name, info in fields.items())


def references(kind: str) -> dict[str, list[str]]:
    """The fields of `kind` that hold ids of other records, with the kinds they may name."""
    return {
        name: list(info.json_schema_extra["ref"])  # type: ignore[arg-type]
        for name, info in EVALUATED_KINDS[kind].model_fields.items()
        if isinstance(info.json_schema_extra, dict) and "ref" in info.json_schema_extra
    }


def unit_path(kind: str, path: str) -> tuple[str, tuple[str, str] | None]:
    """A path to a record's unit (OWNER or HOME, e.g. "unit" or "inspection.organizer") read as
    the field of `kind`, and, when the unit is reached through another record, the kind that
    field names with that record's field (else None)."""
    first, _, second = path.partition(".")
    return first, (references(kind)[first][0], second) if second else None


def choice_of(kind: str, name: str) -> Choice | None:
    """The enumeration a field takes its values from, if it is an enum field."""
    metadata = EVALUATED_KINDS[kind].model_fields[name].metadata
    return next((item for item in metadata if isinstance(item, Choice)), None)


@cache
def date_fields(kind: str) -> frozenset[str]:
    return frozenset(
        name for name, info in EVALUATED_KINDS[kind].model_fields.items()
        if info.annotation is dt.date or dt.date in get_args(info.annotation)
    )


@cache
def _field_names(kind: str) -> dict[str, str]:
    fields = KINDS[kind].model_fields
    return {**{info.title or name: name for name, info in fields.items()},
            **{name: name for name in fields}}
