"""Shell completion: typer's own `--install-completion` and `--show-completion`, with their help
and messages in Chinese, and exit status 2 (not typer's 1, which means findings) for a shell
typer cannot complete in.

typer adds the two options to the `luoshi` group and detects the shell (shellingham); the
scripts and where they are installed (for bash `~/.bash_completions/luoshi.sh`, sourced from
`~/.bashrc`) are typer's. `localize` gives the options our help and callbacks.
"""

from __future__ import annotations

from typing import Any

import typer
from typer._click import exceptions as click_errors
from typer._completion_shared import _get_shell_name, get_completion_script, install

SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")


def _shell(value: Any) -> str:
    """The shell named (typer takes a name when it cannot detect one), or the detected one."""
    shell = value if isinstance(value, str) else _get_shell_name()
    if shell not in SHELLS:
        raise click_errors.ClickException(
            f"无法为 {shell or '当前的 shell'} 提供命令补全：支持 bash、zsh、fish 与 PowerShell")
    return shell


def _complete_var(ctx: Any) -> tuple[str, str]:
    """The program name and the variable its completion script sets, as typer names them."""
    prog_name = ctx.find_root().info_name
    return prog_name, "_{}_COMPLETE".format(prog_name.replace("-", "_").upper())


def _install(ctx: Any, param: Any, value: Any) -> Any:
    if not value or ctx.resilient_parsing:
        return value
    prog_name, complete_var = _complete_var(ctx)
    shell, path = install(shell=_shell(value), prog_name=prog_name, complete_var=complete_var)
    typer.echo(f"已为 {shell} 安装 {prog_name} 的命令补全：{path}。重新打开终端后生效。")
    raise typer.Exit()


def _show(ctx: Any, param: Any, value: Any) -> Any:
    if not value or ctx.resilient_parsing:
        return value
    prog_name, complete_var = _complete_var(ctx)
    typer.echo(get_completion_script(prog_name=prog_name, complete_var=complete_var,
                                     shell=_shell(value)))
    raise typer.Exit()


_OPTIONS = {
    "install_completion": (_install, "为当前的 shell（bash、zsh、fish、PowerShell）安装命令补全，"
                                     "重新打开终端后生效"),
    "show_completion": (_show, "显示当前的 shell 的命令补全脚本，可复制或自行安装"),
}


def localize(params: list[Any]) -> None:
    """Our help and callbacks for typer's completion options among `params`."""
    for param in params:
        if param.name in _OPTIONS:
            param.callback, param.help = _OPTIONS[param.name]
