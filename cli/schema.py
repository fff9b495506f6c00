"""`luoshi schema`: the JSON Schema of a facts file, for editors that complete YAML."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from luoshi.facts.problems import InputError, Location, Problem
from luoshi.facts.schema import DRAFTS, facts_file_schema

from .console import exit_on_errors


def schema(
    draft: Annotated[str, typer.Option(
        "--draft", help="JSON Schema 的版本：2020-12，或 7（VS Code 等编辑器的 YAML 插件完整支持的版本）")
    ] = "2020-12",
) -> None:
    """输出事实数据文件的 JSON Schema，供编辑器补全与检查 YAML/JSON。"""
    with exit_on_errors():
        if draft not in DRAFTS:
            raise InputError([Problem(Location("--draft"), "C001",
                                      f"未知的 JSON Schema 版本 {draft}，可用：{'、'.join(DRAFTS)}")])
        typer.echo(json.dumps(facts_file_schema(draft), ensure_ascii=False, indent=2))
