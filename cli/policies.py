"""What every command that evaluates policies shares: `--policies`, and building the program."""

from __future__ import annotations

from typing import Annotated

import typer

from luoshi.engine.program import load_program
from luoshi.engine.settings import Settings, load_settings

__all__ = ["load_program", "use_settings"]

PoliciesOption = Annotated[
    list[str] | None,
    typer.Option("--policies", help="追加的策略文件夹（可多次给出）", show_default=False),
]


ConfigOption = Annotated[str | None, typer.Option(
    "--config", help="配置文件（默认读取当前文件夹的 luoshi.toml，若有）", show_default=False)]
NoConfigOption = Annotated[bool, typer.Option("--no-config", help="不读取任何配置文件")]
YearOption = Annotated[int, typer.Option("--year", help="检查年度（2000–2100）", min=2000, max=2100,
                                         show_default=False)]


def use_settings(config: str | None, no_config: bool) -> Settings:
    """The settings for this run; the file read, if any, is named on stderr."""
    settings = load_settings(config, use_file=not no_config)
    if settings.file:
        from .console import err

        err.print(f"配置文件：{settings.file}")
    return settings
