"""`luoshi verify [--db URL]`: recompute the hash chain; name every row changed outside luoshi."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.text import Text

from .console import err, exit_on_errors, out
from .load import DbOption

if TYPE_CHECKING:
    from luoshi.facts import chain


def verify(db: DbOption = None) -> None:
    """重新计算数据库的哈希链：完好时退出状态 0，并给出链头（可抄录、签字留存）；
    有记录在 luoshi 之外被改动、删除或插入时退出状态 1，逐条列出。"""
    from luoshi.facts import chain, store

    with exit_on_errors():
        verdict = store.verify(db)
    if verdict.problems:
        out.print(Text(f"哈希链已断：发现 {len(verdict.problems)} 处在 luoshi 之外的改动"
                       f"（共核对 {verdict.rows} 行）"))
        for problem in verdict.problems:
            out.print(Text(f"  - {problem}"))
        raise typer.Exit(1)
    out.print(Text(f"哈希链完好：共核对 {verdict.rows} 行，链上 {verdict.head_seq} 环。"))
    out.print(Text(f"链头（第 {verdict.head_seq} 环）：{chain.shown(verdict.head_hash)}"))
    out.print(Text(f"审计日志的链头（第 {verdict.audit_seq} 环）：{chain.shown(verdict.audit_hash)}"))
    err.print(Text("请把两个链头抄录或签字留存在数据库之外：能改写整条链的人也能重算它，"
                   "只有留存的链头能证明此后没有改动。"))


def warn_if_broken(db: str | None) -> chain.Verdict:
    """A warning on stderr when the chain is broken: what follows rests on changed data."""
    from luoshi.facts import store

    verdict = store.verify(db)
    if verdict.problems:
        err.print(Text(f"警告：数据库的哈希链已断（{len(verdict.problems)} 处在 luoshi 之外的改动，"
                       "luoshi verify 列出），以下结果所依据的数据可能已被改动。", style="bold red"))
    return verdict
