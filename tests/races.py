"""Run one job in two forked processes that start it at the same moment (cache-write races)."""

from __future__ import annotations

import multiprocessing
from typing import Any, Callable


def _at_barrier(barrier, results, job: Callable[..., Any], args: tuple) -> None:
    barrier.wait()  # both processes enter the job together
    try:
        results.put(job(*args))
    except Exception as error:  # reported to the test, which fails on it
        results.put(repr(error))


def race_two_processes(job: Callable[..., Any], *args: Any, timeout: float = 120) -> list:
    """Each process's result of `job(*args)` (or the repr of what it raised), in finishing order."""
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(2), context.Queue()
    workers = [context.Process(target=_at_barrier, args=(barrier, results, job, args)) for _ in range(2)]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=timeout) for _ in workers]
    for worker in workers:
        worker.join(timeout=timeout)
    return outcomes
