"""Shell completion, typer's own: `luoshi --install-completion` writes the script, and bash then
completes commands and options by running `luoshi` itself, as on a user's terminal."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from luoshi.cli import completion
from luoshi.cli.main import app

LUOSHI = Path(sys.executable).parent / "luoshi"  # the installed command, as bash finds it


def luoshi(*args: str, home: Path, **env: str) -> subprocess.CompletedProcess:
    # typer's switch for naming the shell instead of detecting it (its own tests use it).
    environment = {**os.environ, "HOME": str(home), **env,
                   "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    return subprocess.run([str(LUOSHI), *args], capture_output=True, text=True, env=environment)


def complete_in_bash(home: Path, *words: str) -> list[str]:
    """What bash offers for `luoshi WORDS… <TAB>` with the installed completion."""
    script = (f"source ~/.bash_completions/luoshi.sh; COMP_WORDS=(luoshi {' '.join(words)}); "
              f"COMP_CWORD={len(words)}; _luoshi_completion luoshi; "
              'printf "%s\\n" "${COMPREPLY[@]}"')
    environment = {**os.environ, "HOME": str(home),
                   "PATH": f"{LUOSHI.parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(["bash", "--norc", "-c", script], capture_output=True, text=True,
                            env=environment, check=True)
    return result.stdout.split()


@pytest.mark.skipif(shutil.which("bash") is None or not LUOSHI.exists(),
                    reason="needs bash and the installed luoshi command")
def test_install_completion_for_bash_and_bash_completes_commands_and_options(tmp_path):
    installed = luoshi("--install-completion", "bash", home=tmp_path)
    assert installed.returncode == 0, installed.stderr
    script = tmp_path / ".bash_completions" / "luoshi.sh"
    assert installed.stdout.strip() == (f"已为 bash 安装 luoshi 的命令补全：{script}。"
                                        "重新打开终端后生效。")
    assert f"source '{script}'" in (tmp_path / ".bashrc").read_text()
    shown = luoshi("--show-completion", "bash", home=tmp_path)
    assert shown.returncode == 0 and shown.stdout.strip() == script.read_text().strip()

    assert complete_in_bash(tmp_path, "ch") == ["changes", "check"]
    assert complete_in_bash(tmp_path, "check", "--fo") == ["--format"]
    assert complete_in_bash(tmp_path, "rules", "") == ["show"]
    assert "--install-completion" in complete_in_bash(tmp_path, "--")


def complete_in_zsh(line: str) -> str:
    """What luoshi answers zsh's completion function for `LINE<TAB>`."""
    result = subprocess.run([str(LUOSHI)], capture_output=True, text=True, env={
        **os.environ, "_LUOSHI_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": line})
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.skipif(not LUOSHI.exists(), reason="needs the installed luoshi command")
def test_completion_shows_each_commands_first_sentence_in_chinese():
    """zsh and fish show help beside each name: click would cut a Chinese sentence to "..."."""
    commands = complete_in_zsh("luoshi ")
    assert '"load":"校验并导入事实数据：整批写入一个事务，要么全部存入，要么什么都不存；已…"' \
        in commands
    assert '"rules":"规则目录：编号、级别、条款、标题、参数"' in commands
    assert "..." not in commands
    assert complete_in_zsh("luoshi check --h").strip() == """_arguments '*: :(("--help":"显示此帮助并退出。"))'"""


def test_a_shell_typer_cannot_complete_in_is_a_clear_error_with_status_2(monkeypatch):
    monkeypatch.setattr(completion, "_get_shell_name", lambda: "sh")
    for option in ("--install-completion", "--show-completion"):
        result = CliRunner().invoke(app, [option])
        assert result.exit_code == 2, result.output
        assert result.stderr == "错误：无法为 sh 提供命令补全：支持 bash、zsh、fish 与 PowerShell\n"
