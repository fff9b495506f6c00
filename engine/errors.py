"""Errors that end a command with status 2: a policy the compiler cannot use (`CompileError`,
reported at the policy's file and line), and the rule engine failing (`EngineError`)."""

from __future__ import annotations

from typing import Any


class EngineError(RuntimeError):
    """The engine reported what must not happen: a duplicate fact, an action that failed, a
    worker process that died."""


class CompileError(Exception):
    """A rule the compiler cannot turn into engine rules; `loc` is where in the rule."""

    def __init__(self, rule: str, loc: tuple[Any, ...], message: str, code: str = "P501") -> None:
        super().__init__(message)
        self.rule, self.loc, self.message, self.code = rule, loc, message, code
