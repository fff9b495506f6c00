"""Errors of the rule engine itself (not of the input): they end a command with status 2."""


class EngineError(RuntimeError):
    """The engine reported what must not happen: a duplicate fact, an action that failed, a
    worker process that died."""
