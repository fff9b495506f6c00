"""The `luoshi` command: one module per command, registered here."""

from __future__ import annotations

import typer

from .lazy import LazyGroup

app = typer.Typer(
    name="luoshi",
    help="落实：惩治和预防腐败体系制度落实机制的合规检查工具。",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    cls=LazyGroup,
)
def _version(value: bool) -> None:
    if value:
        from luoshi.facts.version import tool_version

        typer.echo(f"luoshi {tool_version()}")
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="显示版本并退出")) -> None:
    """落实：惩治和预防腐败体系制度落实机制的合规检查工具。"""


def run() -> None:
    app()


if __name__ == "__main__":
    run()
