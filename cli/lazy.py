"""Commands imported only when they run: `luoshi --version` and `luoshi check` need not import
SQLAlchemy, Jinja2, openpyxl and every other command's dependencies (start-up time is what a
unit's CI job and a clerk at the terminal pay on every call)."""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer import _click as click
from typer.core import TyperCommand, TyperGroup

# name -> (module under luoshi.cli, attribute): a command function, or a Typer app (a group).
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("validate", "validate"),
    "load": ("load", "load"),
    "submissions": ("submissions", "submissions"),
    "changes": ("submissions", "changes"),
    "schema": ("schema", "schema"),
    "check": ("check", "check"),
    "upcoming": ("upcoming", "upcoming"),
    "rules": ("rules", "app"),
    "explain": ("explain", "explain"),
    "history": ("history", "history"),
    "diff": ("history", "diff"),
    "rerun": ("rerun", "rerun"),
    "verify": ("verify", "verify"),
    "notices": ("notices", "notices"),
    "report": ("report", "report"),
    "template": ("template", "template"),
    "demo": ("demo", "demo"),
    "serve": ("serve", "serve"),
    "users": ("users", "app"),
    "db": ("db", "app"),
    "audit": ("audit", "audit"),
}


class LazyGroup(TyperGroup):
    """The `luoshi` group: a command's module is imported when the command is looked up
    (typer 0.29 keeps its click inside as `typer._click`). `cli/main.py` sets the classes
    commands and subgroups are made with."""

    command_cls: type[TyperCommand] | None = None
    group_cls: type[TyperGroup] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the names, for "did you mean …?": the commands themselves come from get_command.
        self.commands = dict.fromkeys(COMMANDS)  # type: ignore[assignment]

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module_name, attribute = COMMANDS[name]
        command: click.Command
        found: Any = getattr(importlib.import_module(f"luoshi.cli.{module_name}"), attribute)
        if isinstance(found, typer.Typer):
            for info in found.registered_commands:
                if self.command_cls is not None:
                    info.cls = self.command_cls
            if self.group_cls is not None:
                found.info.cls = self.group_cls
            command = typer.main.get_group(found)
        else:
            single = typer.Typer(add_completion=False, rich_markup_mode=None)
            single.command(name, cls=self.command_cls)(found)
            command = typer.main.get_command(single)
        command.name = name
        return command
