"""The quick recipe's named settings: readout, optimiser, tuning split, data seed."""

import pytest
import torch

from mtdnn_lite.core.encoder import load_encoder
from mtdnn_lite.core.heads import ClassificationHead, build_head, readout
from mtdnn_lite.core.model import MTDNN
from mtdnn_lite.core.optim import build_optimizer, steps_after_a_spike
from mtdnn_lite.experiments import pipeline
from mtdnn_lite.experiments.profiles import get_profile
from mtdnn_lite.glue.tasks import TASKS


def test_readout_cls_is_the_first_token_and_mean_ignores_padding():
    hidden = torch.randn(2, 5, 3)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    assert torch.equal(readout(hidden, mask, "cls"), hidden[:, 0])
    mean = readout(hidden, mask, "mean")
    assert torch.allclose(mean[0], hidden[0, :3].mean(0)) and torch.allclose(mean[1], hidden[1].mean(0))
    padded = hidden.clone()
    padded[0, 3:] = 100.0  # what padding positions hold must not matter
    assert torch.allclose(readout(padded, mask, "mean"), mean)
    with pytest.raises(ValueError, match="readout 'pooler'"):
        readout(hidden, mask, "pooler")


def test_heads_read_x_as_told_and_san_keeps_reading_every_token():
    head = build_head(TASKS["SST-2"], 3, readout="mean")
    assert isinstance(head, ClassificationHead) and head.readout == "mean"
    assert not hasattr(build_head(TASKS["MNLI"], 3, san=True, readout="mean"), "readout")
    assert build_head(TASKS["MNLI"], 3, san=False, readout="mean").readout == "mean"
    with pytest.raises(ValueError, match="readout 'max'"):
        build_head(TASKS["SST-2"], 3, readout="max")


def test_the_readout_survives_save_and_load(tmp_path):
    model = MTDNN(load_encoder("tiny"), ["SST-2", "STS-B", "QNLI"], readout="mean").eval()
    model.save(tmp_path)
    loaded = MTDNN.load(tmp_path)
    assert loaded.readout == "mean" and loaded.head("QNLI").readout == "mean"


def test_build_optimizer_names_adamax_or_adamw_and_refuses_others():
    model = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.LayerNorm(3))
    assert type(build_optimizer(model, "adamax", 1e-3, 0.01)) is torch.optim.Adamax
    adamw = build_optimizer(model, "adamw", 1e-3, 0.01)
    assert type(adamw) is torch.optim.AdamW
    assert [g["weight_decay"] for g in adamw.param_groups] == [0.01, 0.0]
    assert len(adamw.param_groups[0]["params"]) == 1  # only the Linear weight decays
    with pytest.raises(ValueError, match="optimizer 'sgd'"):
        build_optimizer(model, "sgd", 1e-3, 0.01)


def test_one_gradient_spike_shrinks_adamax_steps_far_longer_than_adams():
    """The mechanism behind the quick recipe's AdamW (optim.py): Adamax divides by the running max of |g|."""
    adamax, adamw = steps_after_a_spike("adamax", 100), steps_after_a_spike("adamw", 100)
    assert adamax[-1] < adamw[-1] / 5  # 99 steps on: Adamax still divides by ~0.999^99 · 100 ≈ 91, Adam by ≈ 10
    plain_adamax = steps_after_a_spike("adamax", 100, spike=1.0)
    assert plain_adamax[-1] > 10 * adamax[-1]  # without the spike Adamax's steps stay near lr


@pytest.fixture(scope="module")
def tuned(glue_dir):
    profile = get_profile("tiny", tasks=("WNLI", "RTE"), tune_size=200, max_train=None, max_eval=None)
    return profile, {t: pipeline.task_data(t, profile, glue_dir) for t in profile.tasks}


def test_the_tuning_split_is_held_out_of_train_and_replaces_dev(tuned):
    _, data = tuned
    for task, d in data.items():
        assert list(d.evals) == ["validation_tune"]  # the dev set is not even scored
        assert not set(d.evals["validation_tune"]["idx"]) & set(d.train["idx"])
        assert d.info["validation_tune"]["rows"] + d.info["train"]["rows"] == {"WNLI": 635, "RTE": 2490}[task]
    assert len(data["WNLI"].evals["validation_tune"]) == 635 // 4  # capped at a quarter of train
    assert len(data["RTE"].evals["validation_tune"]) == 200


def test_the_data_seed_draws_the_data_and_the_seed_does_not(tuned, glue_dir):
    profile, data = tuned
    other_seed = pipeline.task_data("RTE", profile.override(seed=5), glue_dir)
    assert other_seed.info["validation_tune"]["fingerprint"] == data["RTE"].info["validation_tune"]["fingerprint"]
    other_data = pipeline.task_data("RTE", profile.override(data_seed=5), glue_dir)
    assert other_data.info["validation_tune"]["fingerprint"] != data["RTE"].info["validation_tune"]["fingerprint"]


def test_the_quick_profile_names_its_departures():
    quick, full = get_profile("quick"), get_profile("full")
    assert (quick.optimizer, quick.readout, quick.lr, quick.san) == ("adamw", "mean", 1e-4, True)
    assert (full.optimizer, full.readout, full.lr, full.san) == ("adamax", "cls", 5e-5, True)  # the paper's


def test_auto_precision_is_bf16_only_where_the_device_computes_it(monkeypatch):
    from mtdnn_lite.core import inference
    from mtdnn_lite.core.inference import native_bf16

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    assert get_profile("quick").mixed_precision == ("bf16" if native_bf16(device) else "no")  # this machine's
    for native, chosen in ((True, "bf16"), (False, "no")):
        monkeypatch.setattr(inference, "native_bf16", lambda device, native=native: native)
        assert get_profile("quick", mixed_precision="auto").mixed_precision == chosen  # the runs record it
    assert get_profile("quick", mixed_precision="bf16").mixed_precision == "bf16"  # asked for: kept


def test_ablation_describe_calls_a_difference_only_beyond_the_seeds_sd():
    import pandas as pd

    from mtdnn_lite.reporting.ablation import describe
    rows = [{"cell": "a", "stage": s, "seed": seed, "task": "RTE", "score": v}
            for s, seed, v in (("st", 0, 50), ("st", 1, 52), ("mtl", 0, 60), ("mtl", 1, 61))]
    rows += [{"cell": "b", "stage": s, "seed": seed, "task": "RTE", "score": v}
             for s, seed, v in (("st", 0, 50), ("st", 1, 52), ("mtl", 0, 49), ("mtl", 1, 55))]
    lines = describe(pd.DataFrame(rows)).splitlines()
    assert lines[0] == "- `a`: single-task 51.0, MTL 60.5: MTL − single-task +9.5 ± 0.7 → MTL helps"
    assert lines[1].endswith("+1.0 ± 2.8 → no difference")
