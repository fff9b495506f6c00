"""What failed on the server, as a portal user is told it: a Chinese sentence with a short
reference, while the full error goes to the server's log under the same reference, where IT
staff find it. The database's URL, a folder of the server, a driver's or Python's message never
reach a user (the command line keeps them: the person at the server needs them)."""

from __future__ import annotations

import logging
import secrets

from sqlalchemy.exc import SQLAlchemyError

from luoshi.facts.chain import ChainBroken
from luoshi.facts.problems import DamagedRecord, InputError, StoreError, printable

log = logging.getLogger("luoshi.web")

DATABASE = "服务器的数据库暂时无法使用，请稍后再试或联系惩防办"
STORED = "服务器上存储的数据或设置有误，无法完成这项操作，请联系惩防办"
ENGINE = "规则引擎出错，没有输出不完整的结果；请稍后再试或联系惩防办"
CRASH = "服务器内部错误，请稍后再试；若一再出现，请联系惩防办"


def sentence_of(error: BaseException) -> str:
    """What the user is told about `error` (before its reference)."""
    if isinstance(error, DamagedRecord):  # the office can act on it: which record, what to run
        return (f"{error.name} 在服务器的数据库中已损坏（可能在 luoshi 之外被改过），无法显示；"
                "请惩防办在服务器上运行 luoshi verify 查看")
    if isinstance(error, ChainBroken):
        return ("服务器数据库的哈希链已断，数据可能在 luoshi 之外被改动过，这次检查没有记录；"
                "请惩防办在服务器上运行 luoshi verify 查看")
    if isinstance(error, StoreError | SQLAlchemyError):  # the store's own, or one it did not wrap
        return DATABASE
    if isinstance(error, InputError):  # outside an upload: the stored state, not the user's input
        return STORED
    from luoshi.engine.errors import EngineError

    return ENGINE if isinstance(error, EngineError) else CRASH


def detail_of(error: BaseException) -> str:
    if isinstance(error, InputError):
        return "；".join(str(problem) for problem in error.problems[:20])
    return f"{type(error).__name__}: {error}"


def reported(error: BaseException, doing: str = "") -> tuple[str, str]:
    """The sentence for the user with its reference, and the reference; `error` is logged
    in full under it (`doing`: what the portal was doing, for the log)."""
    reference = secrets.token_hex(4).upper()
    log.error("参考编号 %s%s：%s", reference, f"（{doing}）" if doing else "",
              printable(detail_of(error)))
    return f"{sentence_of(error)}（参考编号 {reference}，详情已记入服务器日志）", reference
