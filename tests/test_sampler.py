import random
from collections import Counter

import pytest

from mtdnn_lite.core.sampler import SAMPLING, epoch_plan, pack_batches, task_probabilities


def lengths(n, seed=0):
    rng = random.Random(seed)
    return [rng.randint(3, 120) for _ in range(n)]


def test_pack_batches_covers_every_row_once_in_full_batches():
    batches = pack_batches(lengths(1000), batch_size=32, seed=0)
    rows = [r for b in batches for r in b]
    assert sorted(rows) == list(range(1000))
    assert max(map(len, batches)) == 32
    assert sum(len(b) < 32 for b in batches) <= 1  # one short batch per pool at most (1000 rows: one pool)


def test_pack_batches_groups_similar_lengths():
    lens = lengths(3200)
    batches = pack_batches(lens, batch_size=32, seed=0)
    spread = sum(max(lens[r] for r in b) - min(lens[r] for r in b) for b in batches) / len(batches)
    shuffled = list(range(3200))
    random.Random(1).shuffle(shuffled)
    naive = [shuffled[i:i + 32] for i in range(0, 3200, 32)]
    naive_spread = sum(max(lens[r] for r in b) - min(lens[r] for r in b) for b in naive) / len(naive)
    assert spread < naive_spread / 5


def test_pack_batches_keeps_groups_together_and_is_deterministic():
    groups = [i // 3 for i in range(300)]  # questions with three candidate sentences each
    batches = pack_batches(lengths(300), batch_size=32, seed=4, groups=groups)
    for b in batches:
        assert len(b) <= 32
        for g in {groups[r] for r in b}:
            assert sum(groups[r] == g for r in b) == 3
    assert batches == pack_batches(lengths(300), batch_size=32, seed=4, groups=groups)
    assert batches != pack_batches(lengths(300), batch_size=32, seed=5, groups=groups)


def test_algorithm1_sees_every_batch_once_per_epoch_in_a_new_order():
    batches = {"A": pack_batches(lengths(640), 32, 0), "B": pack_batches(lengths(96), 32, 0)}
    first, second = epoch_plan(batches, 0, seed=0), epoch_plan(batches, 1, seed=0)
    for plan in (first, second):
        assert Counter(t for t, _ in plan) == {"A": 20, "B": 3}
        assert sorted(r for t, b in plan if t == "A" for r in b) == list(range(640))
    assert first != second
    assert first == epoch_plan(batches, 0, seed=0)  # a resumed run replays the same epoch


@pytest.mark.parametrize("sampling", SAMPLING[1:])
def test_random_samplers_follow_their_task_probabilities(sampling):
    batches = {"A": [[i] for i in range(900)], "B": [[i] for i in range(100)]}
    plan = epoch_plan(batches, 0, seed=0, sampling=sampling, temperature=2.0)
    assert len(plan) == 1000
    share_b = sum(t == "B" for t, _ in plan) / len(plan)
    expected = {"proportional": 0.1, "temperature": 10 / (30 + 10), "uniform": 0.5}[sampling]
    assert abs(share_b - expected) < 0.05


def test_task_probabilities():
    assert task_probabilities({"A": 900, "B": 100}, "temperature", 2.0) == pytest.approx({"A": 0.75, "B": 0.25})
    assert task_probabilities({"A": 900, "B": 100}, "uniform") == {"A": 0.5, "B": 0.5}


def test_unknown_sampling_is_an_error():
    with pytest.raises(ValueError, match="unknown sampling 'roundrobin'"):
        epoch_plan({"A": [[0]]}, 0, 0, sampling="roundrobin")
