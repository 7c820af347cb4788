"""Multi-task batch order: MT-DNN's Algorithm 1 and the usual alternatives.

Algorithm 1 of the MT-DNN paper:

    Pack the dataset t into mini-batches: D_t, for every task t.
    for epoch in 1, 2, ..., epoch_max:
        1. Merge all the datasets: D = D_1 ∪ D_2 ∪ ... ∪ D_T
        2. Shuffle D
        for b_t in D:                 # b_t is a mini-batch of task t
            3. Compute loss L(Θ) on b_t
            4. Compute gradient ∇(Θ) and update the model

So a task is visited in proportion to its number of batches, and every batch is seen once per epoch.
The alternatives draw each step's task at random instead, with probability p_t over tasks of sizes n_t:

    proportional  p_t ∝ n_t
    temperature   p_t ∝ n_t^(1/T)   (T = 1: proportional; T → ∞: uniform)
    uniform       p_t = 1 / #tasks

and take that task's next batch (its batches reshuffled each time they run out). An epoch has as
many steps as Algorithm 1's, so schedules stay comparable.

A plan depends only on (seed, epoch): a run resumed at an epoch boundary replays the same order.
"""

import random
from collections.abc import Sequence

SAMPLING = ("algorithm1", "proportional", "temperature", "uniform")

Batch = list[int]  # row indices into one task's training split


def pack_batches(lengths: Sequence[int], batch_size: int, seed: int,
                 groups: Sequence[int] | None = None, pool: int = 50) -> list[Batch]:
    """Pack one task's examples into mini-batches of similar length, once (Algorithm 1's D_t).

    Examples are shuffled, cut into pools of `pool` batches, sorted by length inside a pool and cut
    into batches: a batch's rows have similar lengths, so little compute goes to padding, while
    batches still mix the data. Rows that share a `groups` value (QNLI's candidate answers of one
    question) stay in one batch, so that the ranking loss can compare them.
    """
    units: dict[int, list[int]] = {}
    for row, group in enumerate(groups if groups is not None else range(len(lengths))):
        units.setdefault(group, []).append(row)
    order = list(units.values())
    random.Random(seed).shuffle(order)
    batches: list[Batch] = []
    for start in range(0, len(order), pool * batch_size):
        chunk = sorted(order[start:start + pool * batch_size], key=lambda u: max(lengths[r] for r in u))
        batch: Batch = []
        for unit in chunk:
            if batch and len(batch) + len(unit) > batch_size:
                batches.append(batch)
                batch = []
            batch.extend(unit)
        if batch:
            batches.append(batch)
    return batches


def task_probabilities(sizes: dict[str, int], sampling: str, temperature: float = 2.0) -> dict[str, float]:
    """p_t for the random samplers: proportional n_t, temperature n_t^(1/T), or uniform."""
    if sampling == "uniform":
        weights = {t: 1.0 for t in sizes}
    elif sampling == "proportional":
        weights = {t: float(n) for t, n in sizes.items()}
    elif sampling == "temperature":
        weights = {t: n ** (1.0 / temperature) for t, n in sizes.items()}
    else:
        raise ValueError(f"sampling {sampling!r} draws no task at random; expected one of {SAMPLING[1:]}")
    total = sum(weights.values())
    return {t: w / total for t, w in weights.items()}


def epoch_plan(batches: dict[str, list[Batch]], epoch: int, seed: int,
               sampling: str = "algorithm1", temperature: float = 2.0) -> list[tuple[str, Batch]]:
    """The (task, batch) steps of one epoch, in training order."""
    if sampling not in SAMPLING:
        raise ValueError(f"unknown sampling {sampling!r}; expected one of {SAMPLING}")
    rng = random.Random(f"{seed}/{epoch}")
    if sampling == "algorithm1":
        merged = [(task, b) for task in sorted(batches) for b in batches[task]]  # D = D_1 ∪ ... ∪ D_T
        rng.shuffle(merged)  # shuffle D
        return merged
    sizes = {t: sum(map(len, bs)) for t, bs in batches.items()}
    probs = task_probabilities(sizes, sampling, temperature)
    tasks = sorted(probs)
    steps = sum(map(len, batches.values()))
    queues: dict[str, list[Batch]] = {t: [] for t in tasks}
    plan = []
    for task in rng.choices(tasks, weights=[probs[t] for t in tasks], k=steps):
        if not queues[task]:
            queues[task] = rng.sample(batches[task], len(batches[task]))
        plan.append((task, queues[task].pop()))
    return plan
