"""One process at a time in a run folder.

Two processes can reach the same run: a notebook training a stage while ``reproduce`` runs, or one command started
twice. Whatever writes a run folder (train.train_run, the ensemble's scores, the soft targets) holds ``<run>/.lock``
while it checks whether the run is done and writes it: an operating-system file lock (the `filelock` package) that
ends with the process holding it, however that process ends. The holder names itself in ``<run>/.lock.json`` (pid,
host, command, since). A second process that finds the run held says so in one line, naming the holder, and waits
for it; then it finds the run finished and reuses it, or resumes it from the holder's last checkpoint.

Of the processes of one ``accelerate launch``, the main one holds the lock for them all.
"""

import os
import socket
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from ..core.trainer import processes
from .runs import read_json, write_json

LOCK, HOLDER = ".lock", ".lock.json"


@contextmanager
def holding(run: Path):
    """Hold run folder `run` (made if missing) in this process's main process, after waiting for the process that
    holds it, if one does."""
    if not processes().is_main_process:
        yield
        return
    run = Path(run)
    run.mkdir(parents=True, exist_ok=True)
    lock = FileLock(run / LOCK)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        print(f"{run} is held by {holder(run)}: waiting for it to finish", file=sys.stderr, flush=True)
        lock.acquire()
    try:
        command = " ".join(sys.argv).replace(str(Path(__file__).parents[1] / "__main__.py"), "python -m mtdnn_lite")
        write_json(run / HOLDER, {"pid": os.getpid(), "host": socket.gethostname(), "command": command,
                                  "since": time.strftime("%Y-%m-%d %H:%M:%S")})
        yield
    finally:
        (run / HOLDER).unlink(missing_ok=True)
        lock.release()


def holder(run: Path) -> str:
    """Who holds run folder `run`, as its HOLDER file says: "pid 123 on host h (`python -m …`, since …)"."""
    try:
        found = read_json(Path(run) / HOLDER)
    except (OSError, ValueError):  # the holder is just starting, or just done
        return "another process"
    return f"pid {found['pid']} on host {found['host']} (`{found['command']}`, since {found['since']})"
