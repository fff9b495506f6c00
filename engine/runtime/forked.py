"""Work in forked processes that exit: memory the work took is given back, and a crash in
native code (durable_rules' C core) is an error, not a silently missing result.

Processes are forked from the calling thread (no pool: a pool's helper threads make forking
unsafe), at most `processes` at a time; each hands its result back through a pipe. An
exception in a worker is raised again in the caller. Work running in a worker that forks
again does so one process at a time (`nested`): the cores are already busy.

Threads (the portal's checks run in a thread pool) take turns to fork and to reap: otherwise
one thread's `Process.start()`, which polls every child of the process, could reap another
thread's worker while it waits for it, which then saw exit code None and failed a good check;
and a worker forked meanwhile would inherit the other's pipe.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

from luoshi.engine.errors import EngineError

T = TypeVar("T")
R = TypeVar("R")

nested = False  # True inside a worker
_PR_SET_PDEATHSIG = 1  # linux/prctl.h
_turns = threading.Lock()  # forking and reaping, one thread at a time


def processes(wanted: int | None = None) -> int:
    """How many workers to run at once: one per core, one inside a worker."""
    return 1 if nested else max(1, wanted or os.cpu_count() or 1)


def run(function: Callable[[T], R], items: Sequence[T], at_once: int) -> list[R]:
    """`function(item)` for every item, each in a process of its own; results in item order."""
    context = multiprocessing.get_context("fork")
    pending = list(enumerate(items))
    results: dict[int, R] = {}
    running: dict[Any, tuple[int, Any]] = {}  # receiving end -> (item number, process)
    try:
        while pending or running:
            while pending and len(running) < max(1, at_once):
                number, item = pending.pop(0)
                with _turns:
                    receive, send = context.Pipe(duplex=False)
                    # Not a daemon: a daemon may not fork, and workers of workers do.
                    process = context.Process(target=_worker, args=(function, item, send,
                                                                     os.getpid()))
                    process.start()
                    send.close()
                running[receive] = (number, process)
            for ready in multiprocessing.connection.wait(list(running)):
                number, process = running.pop(ready)
                receive = cast(multiprocessing.connection.Connection, ready)  # one of our pipes
                outcome: Any
                try:
                    outcome = receive.recv()
                except EOFError:
                    outcome = None
                receive.close()
                with _turns:
                    process.join()
                    code = process.exitcode
                if outcome is None or code != 0:
                    raise EngineError(f"规则引擎的工作进程异常退出（退出码 {code}）")
                failed, value = outcome
                if failed:
                    raise value
                results[number] = value
    finally:
        for receive, (_, process) in running.items():  # after a failure: stop the others
            receive.close()
            with _turns:
                process.kill()
                process.join()
    return [results[number] for number in range(len(items))]


def _worker(function: Callable[[Any], Any], item: Any, send: Any, parent: int) -> None:
    global nested, _turns
    _die_with(parent)
    nested = True
    _turns = threading.Lock()  # forked while the parent's thread held it
    try:
        outcome: tuple[bool, Any] = (False, function(item))
    except Exception as error:  # raised again in the caller
        outcome = (True, error)
    try:
        send.send(outcome)
    except Exception as error:  # an exception that cannot be pickled
        send.send((True, EngineError(f"{type(error).__name__}: {error}")))
    send.close()


def _die_with(parent: int) -> None:
    """End this worker when the process that forked it ends, however it ends: a worker killed
    after another failed must not leave its own workers running, holding the caller's
    standard output (`luoshi check | tail` would never return). Workers write nothing there."""
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it ended before that took effect
        os._exit(1)
