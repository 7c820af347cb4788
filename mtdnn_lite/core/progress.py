"""One progress bar over a whole reproduction: the training examples done of those planned, with an ETA.

`reproduce` opens it (`overall`) with the plan's count of examples still to train; the training loop moves it
(`advance`) after every step, beside each epoch's own bar. Outside `overall`, `advance` does nothing, so a
single `train` call shows only its epoch bars. The ETA is tqdm's: the remaining examples at the rate seen so
far, evaluation included, since the rate is measured in wall-clock time. A worker process training runs side by
side with others (experiments/lanes.py) sends its counts to the process that shows the bar (`send_to`).
"""

from contextlib import contextmanager

from tqdm.auto import tqdm

_bar: tqdm | None = None
_queue = None  # in a worker process: where its counts go


@contextmanager
def overall(total: int, desc: str):
    """A bar over `total` training examples, open for the duration of the `with` block."""
    global _bar
    _bar = tqdm(total=total, desc=desc, unit="ex", smoothing=0.05, mininterval=5.0)
    try:
        yield _bar
    finally:
        _bar.close()
        _bar = None


def advance(examples: int) -> None:
    """Count `examples` more trained, on the open bar if there is one."""
    if _bar is not None:
        _bar.update(examples)
    elif _queue is not None:
        _queue.put(examples)


def send_to(counts) -> None:
    """In a worker process: send what `advance` counts to the queue `counts` (a multiprocessing queue), from
    which the main process moves its bar; the worker shows no bars of its own (`quiet`)."""
    global _queue
    _queue = counts


def quiet() -> bool:
    """Whether this process keeps its per-epoch bars to itself (a worker beside others: their bars would
    interleave on one terminal)."""
    return _queue is not None
