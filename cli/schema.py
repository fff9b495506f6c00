"""`luoshi schema`: the JSON Schema of a facts file, for editors that complete YAML."""

from __future__ import annotations

import json

import typer

from luoshi.facts.schema import facts_file_schema


def schema() -> None:
    """输出事实数据文件的 JSON Schema，供编辑器补全与检查 YAML/JSON。"""
    typer.echo(json.dumps(facts_file_schema(), ensure_ascii=False, indent=2))
