"""The JSON Schema of a facts file, generated from the fact model, for editors to complete YAML.

Kinds and fields may be written by code name or Chinese name, so each appears under both;
a required field is satisfied by either of its two names.

Two drafts: 2020-12, the current one, and draft 7, the newest that the YAML extension most
editors use (yaml-language-server) supports fully. The schema uses no keyword beyond draft 7's;
only where its definitions live and how `$schema` names the draft differ.
"""

from __future__ import annotations

import copy
from typing import Any

from .kinds import KINDS, Fact


def record_schema(model: type[Fact]) -> dict[str, Any]:
    generated = model.model_json_schema(mode="validation")
    properties: dict[str, Any] = {}
    required = []
    for name, info in model.model_fields.items():
        prop = generated["properties"][name]
        prop.pop("ref", None)
        refs: Any = info.json_schema_extra.get("ref") if isinstance(
            info.json_schema_extra, dict) else None
        if refs:
            prop["description"] = "引用：" + "或".join(f"{kind}（{KINDS[kind].ZH}）的编号" for kind in refs)
        properties[name] = prop
        properties[info.title or name] = copy.deepcopy(prop)
        if info.is_required():
            required.append({"anyOf": [{"required": [name]}, {"required": [info.title]}]})
    schema: dict[str, Any] = {
        "type": "object",
        "title": f"{model.KIND}（{model.ZH}）",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["allOf"] = required
    return schema


# draft -> (its `$schema`, the keyword holding the definitions)
DRAFTS = {
    "2020-12": ("https://json-schema.org/draft/2020-12/schema", "$defs"),
    "7": ("http://json-schema.org/draft-07/schema#", "definitions"),
}


def facts_file_schema(draft: str = "2020-12") -> dict[str, Any]:
    dialect, definitions_key = DRAFTS[draft]
    properties: dict[str, Any] = {}
    definitions: dict[str, Any] = {}
    for kind, model in KINDS.items():
        definitions[kind] = record_schema(model)
        listing = {"type": ["array", "null"], "items": {"$ref": f"#/{definitions_key}/{kind}"},
                   "title": f"{kind}（{model.ZH}）"}
        properties[kind] = listing
        properties[model.ZH] = listing
    return {
        "$schema": dialect,
        "title": "luoshi 事实数据文件（facts file）",
        "description": "顶层为数据类别（代码名或中文名），每个类别为记录列表。",
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        definitions_key: definitions,
    }
