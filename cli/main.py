"""The `luoshi` command: one module per command, registered here, and the guard at its edge.

Exit statuses mean one thing each: 0 nothing to report, 1 findings at or above `--fail-on`
(only `check` exits 1), 2 anything else that stopped a command — a usage error, bad input, an
unreachable database, or a defect of luoshi itself ("内部错误", with a report file), never a
traceback. See docs/errors.md.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Sequence
from typing import Any

# pydantic otherwise scans every installed distribution for plugins on the first model,
# on every start of the command; luoshi uses none.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

import typer
from typer import _click as click
from typer._click import exceptions as click_errors
from typer.core import TyperCommand, TyperGroup

from . import completion
from .lazy import LazyGroup
from .messages import first_sentence, help_text, usage_report

INTERNAL_ERROR = 2


class InChinese(click.Command):
    """Help pages, usage lines and what shell completion shows beside a name, in Chinese."""

    def get_help(self, ctx: Any) -> str:
        return help_text(super().get_help(ctx))

    def get_usage(self, ctx: Any) -> str:
        return help_text(super().get_usage(ctx))

    def shell_complete(self, ctx: Any, incomplete: str) -> list[Any]:
        items = super().shell_complete(ctx, incomplete)
        for item in items:
            item.help = item.help and help_text(item.help)
        return items


class LuoshiCommand(InChinese, TyperCommand):
    def invoke(self, ctx: Any) -> Any:
        # Paused by `run` for the start-up. Frozen first: the hundreds of thousands of objects
        # start-up made (modules, classes) live to the end, and the first collection after the
        # pause would otherwise walk them all, as would every full collection after it (a tenth
        # of a unit's `load`). Frozen objects are also left alone by a forked worker's collections.
        gc.freeze()
        gc.enable()
        return super().invoke(ctx)


class LuoshiSubgroup(InChinese, TyperGroup):
    """A group under `luoshi` (`rules`)."""


class LuoshiGroup(InChinese, LazyGroup):
    def shell_complete(self, ctx: Any, incomplete: str) -> list[Any]:
        items = super().shell_complete(ctx, incomplete)
        for item in items:  # a command's first sentence, not click's cut ("...")
            if item.value in self.commands and (command := self.get_command(ctx, item.value)):
                item.help = first_sentence(command.help or "")
        return items

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> Any:
        """Run a command; whatever escapes it ends with a Chinese message and status 2."""
        completion.localize(self.params)
        stdout = sys.stdout
        sys.stdout = _Output(stdout)
        try:
            status = super().main(args, prog_name, complete_var, standalone_mode=False,
                                  windows_expand_args=windows_expand_args, **extra)
            sys.stdout.flush()  # here, not at exit, where a failure could not be reported
        except OutputFailed as error:
            from luoshi.facts.problems import os_reason

            sys.stderr.write(f"标准输出: C002 输出无法写出：{os_reason(error.cause)}；"
                             "输出不完整，请把输出改写到有空间的位置。\n")
            sys.exit(2)
        except click_errors.NoArgsIsHelpError as error:
            sys.stderr.write(help_text(error.format_message()) + "\n")
            sys.exit(2)
        except click_errors.UsageError as error:
            sys.stderr.write(usage_report(error) + "\n")
            sys.exit(2)
        except click_errors.ClickException as error:
            sys.stderr.write(f"错误：{error.format_message()}\n")
            sys.exit(2)
        except typer.Abort:
            sys.stderr.write("已中止。\n")
            sys.exit(130)
        except SystemExit as error:
            # Status 1 means findings, which come back as `status` below; a 1 raised inside
            # (click's broken-pipe exit) is not findings.
            if error.code == 1:
                sys.exit(2)
            raise
        except BaseException as error:  # noqa: BLE001 - the one place every defect ends
            if isinstance(error, KeyboardInterrupt):
                sys.stderr.write("已中止。\n")
                sys.exit(130)
            sys.stderr.write(internal_error(error) + "\n")
            sys.exit(INTERNAL_ERROR)
        finally:
            sys.stdout = stdout
        sys.exit(status if isinstance(status, int) else 0)


class OutputFailed(Exception):
    """Standard output could not be written (a full disk, `> /dev/full`): C002, not a defect."""

    def __init__(self, cause: OSError) -> None:
        super().__init__(str(cause))
        self.cause = cause


class _Output:
    """Standard output, telling its write failures apart from any other OSError. A closed
    pipe (`| head`) stays what it is: Rich and click end quietly on it."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as error:
            raise OutputFailed(error) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as error:
            raise OutputFailed(error) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def internal_error(error: BaseException) -> str:
    """The message for a defect of luoshi, and a report file a maintainer can act on."""
    import datetime as dt  # only here: what a report needs is not imported on every start
    import platform
    import tempfile
    import traceback

    from luoshi.facts.version import tool_version

    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    text = "\n".join([
        f"luoshi {tool_version()} 内部错误报告 {dt.datetime.now().isoformat(timespec='seconds')}",
        f"命令：{' '.join(sys.argv)}",
        f"Python {platform.python_version()} {platform.platform()}",
        "",
        "".join(traceback.format_exception(error)),
    ])
    try:
        handle, path = tempfile.mkstemp(prefix=f"luoshi-error-{stamp}-", suffix=".txt")
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        where = f"详细报告已写入 {path}，请把它发给维护人员。"
    except OSError:
        where = "报告文件无法写入。"
    return (f"内部错误：luoshi 自身出错（{type(error).__name__}），这不是您的数据的问题；"
            f"没有输出不完整的结果。{where}")


app = typer.Typer(
    name="luoshi",
    help="落实：惩治和预防腐败体系制度落实机制的合规检查工具。",
    cls=LuoshiGroup,
    no_args_is_help=True,
    add_completion=True,  # --install-completion, --show-completion (typer's own)
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        import platform
        from importlib import metadata

        from luoshi.facts.version import tool_version

        # From the installed package's metadata: importing the engine would cost the start-up.
        # `2.0.28+luoshi.1` is the build from third_party/durable-rules (docs/deploy.md).
        try:
            engine = metadata.version("durable-rules")
        except metadata.PackageNotFoundError:
            engine = "未安装"
        typer.echo(f"luoshi {tool_version()}\ndurable-rules {engine}\n"
                   f"Python {platform.python_version()}")
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="显示 luoshi、规则引擎 durable-rules 与 Python 的版本并退出")) -> None:
    """落实：惩治和预防腐败体系制度落实机制的合规检查工具。"""


# Commands are imported when they run (cli/lazy.py), with these classes for their help.
LazyGroup.command_cls, LazyGroup.group_cls = LuoshiCommand, LuoshiSubgroup


def run() -> None:
    # Start-up (importing the command's libraries, parsing its options) allocates hundreds of
    # thousands of objects in no cycles, and each burst set off a collection walking all of
    # them: pausing the cyclic collector until the command runs saves a tenth of the start-up.
    gc.disable()
    app()


if __name__ == "__main__":
    run()
