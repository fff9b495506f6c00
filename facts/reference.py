"""The reference tables of docs/input.md, generated from the fact model so they never drift."""

from __future__ import annotations

from typing import get_args, get_origin

from .kinds import KINDS, choice_of, date_fields, references


def _type_of(kind: str, name: str) -> str:
    info = KINDS[kind].model_fields[name]
    choice = choice_of(kind, name)
    if choice is not None:
        return "枚举：" + " · ".join(f"`{code}` {label}" for code, label in choice.labels.items())
    refs = references(kind).get(name)
    if get_origin(info.annotation) is list:
        return "列表：" + "/".join(refs) + " 的编号" if refs else "列表"
    if refs:
        return "引用 " + " 或 ".join(refs)
    if name in date_fields(kind):
        return "日期"
    options = set(get_args(info.annotation)) or {info.annotation}
    options.discard(type(None))
    return {bool: "是否", int: "整数", float: "数值"}.get(next(iter(options)), "文本")


def reference_tables() -> str:
    lines = []
    for kind, model in KINDS.items():
        key = "编号 `id`" if model.KEY == ("id",) else "自然键 " + " + ".join(f"`{k}`" for k in model.KEY)
        lines += [f"### {kind} {model.ZH}", "", f"记录以{key} 识别。", "",
                  "| 字段 | 中文 | 类型 | 必填 | 默认 |", "|---|---|---|---|---|"]
        for name, info in model.model_fields.items():
            required = "是" if info.is_required() else ""
            default = info.default
            if isinstance(default, bool):
                default = "false" if not default else "true"
            default = "" if info.is_required() or default in (None, []) else f"`{default}`"
            lines.append(f"| `{name}` | {info.title} | {_type_of(kind, name)} | {required} | {default} |")
        lines.append("")
    return "\n".join(lines)
