"""MT-DNN-KD: the distillation loss against a hand computation, and the KD stages on the tiny profile
(teachers, their ensemble, soft targets, the student and its refinement)."""

import dataclasses
import math

import numpy as np
import pytest
import torch

from mtdnn_lite.core import kd
from mtdnn_lite.experiments import soft_targets
from mtdnn_lite.core.encoder import load_tokenizer
from mtdnn_lite.core.evaluation import predict
from mtdnn_lite.core.heads import ClassificationHead, RankingHead, SANHead
from mtdnn_lite.core.model import MTDNN
from mtdnn_lite.experiments import pipeline
from mtdnn_lite.experiments.profiles import get_profile
from mtdnn_lite.experiments.runs import config_hash, read_json, read_predictions
from mtdnn_lite.reporting.results import scores_table

pytestmark = pytest.mark.xdist_group("kd")  # on one worker: the tests share the runs kd_runs trains

# --- the loss, by hand -------------------------------------------------------------------------------------------

Z = [[1.0, -0.5, 0.25], [0.0, 2.0, -1.0]]  # the student's logits, B = 2, C = 3
Q = [[0.5, 0.25, 0.25], [0.1, 0.6, 0.3]]  # the soft targets
Y = [0, 2]  # the hard targets


def softmax(row, temperature=1.0):
    e = [math.exp(v / temperature) for v in row]
    return [v / sum(e) for v in e]


def soft_ce_by_hand(temperature):
    """T² · (1/B) Σ_b −Σ_c Q_T log P_T, with P_T = softmax(z/T) and Q_T ∝ Q^(1/T)."""
    total = 0.0
    for z, q in zip(Z, Q):
        p_t = softmax(z, temperature)
        q_t = softmax([math.log(v) for v in q], temperature)
        total -= sum(a * math.log(b) for a, b in zip(q_t, p_t))
    return temperature ** 2 * total / len(Z)


def hard_ce_by_hand():
    return -sum(math.log(softmax(z)[y]) for z, y in zip(Z, Y)) / len(Z)


def gradient_by_hand(weight, temperature):
    """∂L/∂z = (1 − α)(P − onehot(y))/B + α · T · (P_T − Q_T)/B."""
    rows = []
    for z, q, y in zip(Z, Q, Y):
        p, p_t = softmax(z), softmax(z, temperature)
        q_t = softmax([math.log(v) for v in q], temperature)
        rows.append([((1 - weight) * (p[c] - (c == y)) + weight * temperature * (p_t[c] - q_t[c])) / len(Z)
                     for c in range(3)])
    return rows


@pytest.mark.parametrize("weight,temperature", [(0.5, 1.0), (0.5, 2.0), (0.0, 1.0), (1.0, 1.0), (1.0, 3.0),
                                                (0.3, 0.5)])
def test_distillation_loss_value_and_gradient_match_a_hand_computation(weight, temperature):
    z = torch.tensor(Z, dtype=torch.float64, requires_grad=True)
    batch = {"labels": torch.tensor(Y), "soft_targets": torch.tensor(Q, dtype=torch.float64)}
    loss = kd.distillation_loss(ClassificationHead(4, 3, 0.0), z, batch, weight, temperature)
    expected = (1 - weight) * hard_ce_by_hand() + weight * soft_ce_by_hand(temperature)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    loss.backward()
    assert z.grad.flatten().tolist() == pytest.approx(sum(gradient_by_hand(weight, temperature), []), abs=1e-7)


def test_soft_targets_equal_to_hard_one_hot_give_the_hard_loss():
    z = torch.tensor(Z)
    one_hot = torch.nn.functional.one_hot(torch.tensor(Y), 3).float()
    assert kd.soft_cross_entropy(z.log_softmax(-1), one_hot).item() == pytest.approx(hard_ce_by_hand(), rel=1e-5)


def test_ranking_head_distils_its_pointwise_probabilities():
    g = torch.tensor([0.8, 0.3, 0.6])  # QNLI relevance; P = (g, 1 − g)
    z = torch.logit(g).requires_grad_(True)  # the head's output: g = sigmoid(z)
    batch = {"labels": torch.tensor([0, 1, 0]), "group": torch.tensor([0, 1, 2]),
             "soft_targets": torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]])}
    head = RankingHead(4, 0.0)
    soft = -sum(q[0] * math.log(p) + q[1] * math.log(1 - p)
                for q, p in zip(batch["soft_targets"].tolist(), g.tolist())) / 3
    loss = kd.distillation_loss(head, z, batch)
    assert loss.item() == pytest.approx(0.5 * head.loss(z, batch).item() + 0.5 * soft, rel=1e-5)


@pytest.mark.parametrize("head", [ClassificationHead(4, 3, 0.0), SANHead(4, 3, 0.0)], ids=["logits", "SAN"])
def test_alpha_picks_the_hard_loss_or_the_soft_cross_entropy(head):
    output = torch.tensor(Z).log_softmax(-1) if isinstance(head, SANHead) else torch.tensor(Z)  # SAN: log P
    batch = {"labels": torch.tensor(Y), "soft_targets": torch.tensor(Q)}
    log_p = head.log_probabilities(output)
    hard = kd.distillation_loss(head, output, batch, weight=0.0, temperature=1.0)
    assert torch.equal(hard, head.loss(output, batch)) and hard.item() == pytest.approx(hard_ce_by_hand(), rel=1e-6)
    soft = kd.distillation_loss(head, output, batch, weight=1.0, temperature=1.0)
    assert soft.item() == pytest.approx(kd.soft_cross_entropy(log_p, batch["soft_targets"]).item(), rel=1e-6)
    assert soft.item() == pytest.approx(soft_ce_by_hand(1.0), rel=1e-6)


def test_soft_targets_with_zeros_stay_finite_at_t_2():
    z = torch.tensor(Z, requires_grad=True)
    q = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]])  # Q_T ∝ Q^(1/2): (1, 0, 0) and (0, ½, ½)
    loss = kd.soft_cross_entropy(z.log_softmax(-1), q, temperature=2.0)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(z.grad).all()
    p_t = [softmax(row, 2.0) for row in Z]
    expected = 4 * -(math.log(p_t[0][0]) + 0.5 * math.log(p_t[1][1]) + 0.5 * math.log(p_t[1][2])) / 2
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_ensemble_is_the_mean_of_its_members():
    members = [np.array([[0.9, 0.1], [0.2, 0.8]]), np.array([[0.5, 0.5], [0.4, 0.6]])]
    assert np.allclose(kd.ensemble_probabilities(members), [[0.7, 0.3], [0.3, 0.7]])


# --- the stages on the tiny profile ------------------------------------------------------------------------------

TASKS = ("RTE", "QNLI", "CoLA")  # two tasks with a teacher, one without
TEACHER_TASKS = ("RTE", "QNLI")


@pytest.fixture(scope="module")
def profile():
    return get_profile("tiny", tasks=TASKS, max_train=48, max_eval=32, teachers=2, epochs_mtl=1, epochs_student=1)


@pytest.fixture(scope="module")
def kd_runs(profile, glue_dir, tmp_path_factory):
    """Every KD stage, run once; the tasks of the batches that took the distillation loss, per stage."""
    root = tmp_path_factory.mktemp("runs")
    distilled = []
    real = kd.distillation_loss

    def counted(head, output, batch, *args):
        distilled.append(batch["task"])
        return real(head, output, batch, *args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kd, "distillation_loss", counted)
        pipeline.run_stage("soft_targets", profile, glue_dir, root)
        assert not distilled, "teachers train on hard targets only"
        pipeline.run_stage("student", profile, glue_dir, root)
        student = list(distilled)
        pipeline.run_stage("student_refine", profile, glue_dir, root)
    return root, {"student": student, "student_refine": distilled[len(student):]}


def test_teachers_differ_in_seed_only(kd_runs, profile):
    root, _ = kd_runs
    mtl_data = read_json(root / "tiny" / "mtl" / "data.json")
    for task in TEACHER_TASKS:
        configs = [read_json(root / "tiny" / "teacher" / task / str(k) / "config.json") for k in (1, 2)]
        assert [c["seed"] for c in configs] == [1, 2] and [c["teacher"] for c in configs] == [1, 2]
        assert all(c["data_seed"] == 0 and c["dropout"] == 0.1 and c["init"].startswith("mtl:") for c in configs)
        for k in (1, 2):
            data = read_json(root / "tiny" / "teacher" / task / str(k) / "data.json")
            assert data == {task: mtl_data[task]}  # the same rows and fingerprints as MT-DNN's
    assert not (root / "tiny" / "teacher" / "CoLA").exists()


def test_the_ensemble_averages_its_teachers_and_is_a_scored_run(kd_runs):
    root, _ = kd_runs
    for task in TEACHER_TASKS:
        ensemble = read_predictions(root / "tiny" / "ensemble" / task, task, "validation")
        teachers = [read_predictions(root / "tiny" / "teacher" / task / str(k), task, "validation") for k in (1, 2)]
        mean = np.mean([[r["probabilities"] for r in rows] for rows in teachers], axis=0)
        assert np.allclose([r["probabilities"] for r in ensemble], mean)
        assert [r["idx"] for r in ensemble] == [r["idx"] for r in teachers[0]]
    table = scores_table(root)
    assert set(table[table.stage == "ensemble"].task) == set(TEACHER_TASKS)
    assert table[table.stage == "teacher"].groupby("task").run.nunique().to_dict() == {"QNLI": 2, "RTE": 2}
    assert (table[table.stage == "ensemble"].rows == 32).all()


def test_soft_targets_are_stored_with_meta_and_load_back(kd_runs, profile, glue_dir):
    root, _ = kd_runs
    for task in TEACHER_TASKS:
        folder = root / "tiny" / "soft_targets" / task
        meta, data = read_json(folder / "meta.json"), pipeline.task_data(task, profile, glue_dir)
        assert meta["task"] == task and meta["split"] == "train" and meta["idx"] == list(data.train["idx"])
        assert meta["fingerprint"] == data.info["train"]["fingerprint"]
        assert [t["run"] for t in meta["teachers"]] == [f"tiny/teacher/{task}/1", f"tiny/teacher/{task}/2"]
        q = soft_targets.load_soft_targets(folder, data)
        assert q.shape == (48, 2) and np.allclose(q.sum(1), 1, atol=1e-5)
        teachers = [MTDNN.load(root / "tiny" / "teacher" / task / str(k) / "model") for k in (1, 2)]
        pad = load_tokenizer(profile.encoder).pad_token_id
        assert np.allclose(q, np.mean([predict(m, task, data.train, pad) for m in teachers], axis=0), atol=1e-6)
        assert "soft_targets" not in data.train.column_names  # the cached data is not changed


def test_soft_targets_for_other_data_are_refused(kd_runs, profile, glue_dir):
    root, _ = kd_runs
    folder = root / "tiny" / "soft_targets" / "RTE"
    data = pipeline.task_data("RTE", profile, glue_dir)
    other = dataclasses.replace(data, info={**data.info, "train": {**data.info["train"], "fingerprint": "0" * 16}})
    with pytest.raises(ValueError, match=r"RTE/meta\.json: fingerprint is '[0-9a-f]{16}', expected '0{16}'"):
        soft_targets.load_soft_targets(folder, other)
    reordered = dataclasses.replace(data, train=data.train.select(range(47, -1, -1)))
    with pytest.raises(ValueError, match=r"RTE/meta\.json: idx differs from the training data's at row 0"):
        soft_targets.load_soft_targets(folder, reordered)
    fewer = dataclasses.replace(data, train=data.train.select(range(40)))
    with pytest.raises(ValueError, match=r"at row 40 \(48 ids stored, 40 in the data\)"):
        soft_targets.load_soft_targets(folder, fewer)


def test_the_student_distils_the_teacher_tasks_only(kd_runs):
    root, distilled = kd_runs
    student = root / "tiny" / "student"
    assert set(distilled["student"]) == set(TEACHER_TASKS)  # CoLA keeps its ordinary loss
    config = read_json(student / "config.json")
    assert config["init"] == "encoder:tiny" and config["kd_weight"] == 0.5 and config["kd_temperature"] == 1.0
    assert config["soft_targets"] == {t: read_json(root / "tiny" / "soft_targets" / t / "done.json")["config_hash"]
                                      for t in TEACHER_TASKS}
    assert (student / "model" / "model.safetensors").is_file()
    assert set(read_json(student / "metrics.json")[-1]["dev"]) == set(TASKS)


def test_the_student_is_refined_per_task_with_its_soft_targets(kd_runs):
    root, distilled = kd_runs
    assert set(distilled["student_refine"]) == set(TEACHER_TASKS)
    for task in TASKS:
        run = root / "tiny" / "student_refine" / task
        assert read_json(run / "done.json")["config_hash"] == read_json(run / "config.json")["config_hash"]
    cola, rte = (read_json(root / "tiny" / "student_refine" / t / "config.json") for t in ("CoLA", "RTE"))
    assert cola["init"].startswith("student:") and "soft_targets" not in cola
    assert set(rte["soft_targets"]) == {"RTE"}


def test_kd_settings_leave_the_other_stages_runs_unchanged(profile):
    changed = profile.override(teachers=5, teacher_dropouts=(0.1,) * 5, kd_weight=0.2, kd_temperature=2.0,
                               epochs_teacher=7, epochs_student=7, epochs_student_refine=0)
    for stage in ("st", "mtl", "refine"):
        assert config_hash(pipeline.run_config(changed, stage, list(TASKS), 2, "encoder:tiny")) == \
               config_hash(pipeline.run_config(profile, stage, list(TASKS), 2, "encoder:tiny"))


def test_teacher_dropouts_need_one_value_per_teacher(profile, glue_dir, tmp_path):
    with pytest.raises(ValueError, match=r"teacher_dropouts has 1 values, expected one per teacher \(teachers=2\)"):
        pipeline.run_teacher(profile.override(teacher_dropouts=(0.2,)), glue_dir, tmp_path, mtl=tmp_path / "mtl")


def test_a_teacher_can_have_its_own_task_dropout(kd_runs):
    root, _ = kd_runs
    assert pipeline.teacher_model(root / "tiny" / "mtl", "RTE", 0.3).head("RTE").dropout.p == 0.3
