"""Training runs side by side: the independent runs of a stage (one per task, or one per teacher) trained in
`lanes` worker processes at once, each with its share of the CPU's cores as torch threads.

Why: a MiniLM training step on a small CPU keeps its threads only partly busy (small matrices, many small
operators), so two runs with one thread each train more examples per second than one run with two threads:
1.14× on MNLI's batches on a 2-core CPU with AMX units, bf16 (`benchmarks/lanes.py`, which measures it on the
machine it runs on; `benchmarks/results/lanes_mnli.json`). The multi-task runs (mtl, student) are one run each and
keep every core.

A run's result does not depend on which lane takes it or when: each run is seeded by its own settings, and reads
and writes only its own run folder (locks.py keeps two processes out of one). It does depend, in the last bits of
its arithmetic, on how many threads compute it; its environment.json records them.

The workers are new Python processes (multiprocessing's "spawn": a forked copy of a process that already runs torch
threads can hang). Each job is a picklable call; what a worker trains moves the reproduction's progress bar
through a queue (progress.py).
"""

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait

import torch

from ..core import progress


def auto_lanes() -> int:
    """Lanes where a profile says 0 (auto; Profile resolves it): two on a CPU with at least two cores (the case measured), else one
    (one GPU trains one run at a time)."""
    return 2 if not torch.cuda.is_available() and (os.cpu_count() or 1) >= 2 else 1


def _start_lane(threads: int, updates) -> None:
    """A worker's set-up: its torch threads, and its progress sent to the main process."""
    torch.set_num_threads(threads)
    progress.send_to(updates)


def run_side_by_side(jobs: list[Callable], lanes: int) -> list:
    """Each of `jobs` called once, `lanes` at a time in worker processes with torch.get_num_threads() // lanes
    threads each; their results in the order of `jobs`. One lane (or one job): called here, one after another. When a
    job fails, the jobs not yet started are cancelled, those under way finish, and its error is raised here."""
    if lanes <= 1 or len(jobs) <= 1:
        return [job() for job in jobs]
    context = multiprocessing.get_context("spawn")
    # a SimpleQueue writes each count to its pipe before `put` returns (a Queue hands it to a feeder thread), so
    # every count of a finished job can be read once its result is in
    updates = context.SimpleQueue()
    threads = max(1, torch.get_num_threads() // lanes)
    with ProcessPoolExecutor(lanes, mp_context=context, initializer=_start_lane, initargs=(threads, updates)) as pool:
        futures = [pool.submit(job) for job in jobs]
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=1.0, return_when=FIRST_EXCEPTION)
            _forward(updates)
            failed = next((f for f in done if f.exception() is not None), None)
            if failed is not None:
                for future in pending:
                    future.cancel()
                raise failed.exception()
        _forward(updates)
        return [future.result() for future in futures]


def _forward(updates) -> None:
    """The examples the workers trained since the last call, onto this process's progress bar."""
    while not updates.empty():
        progress.advance(updates.get())
