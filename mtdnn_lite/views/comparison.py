"""MT-DNN against MT-DNN-KD, the data of notebook 07: which runs are compared, their dev examples with each model's
class probabilities (and the teacher ensemble's, for a task with teachers), where the two models disagree, the
per-task scores with the KD gain's interval, and both models on a text of your own. Nothing here builds a widget:
widgets.Comparison shows these tables, and the tests read them directly.

    data = ComparisonData("runs", "quick", glue_dir)
    data.examples("RTE")                       # the dev examples of RTE (a DataFrame)
    data.listed("RTE", only_disagreements=True)  # only those where the two models' predictions differ
    data.example("RTE", "validation", 0)       # the first example: texts, gold label, each model's probabilities
    data.score_data(), data.intervals()        # the per-task scores, and MT-DNN-KD − MT-DNN with its interval
    OwnInput(data).predict("RTE", "A man sleeps.", "Nobody sleeps.")   # both models on your own pair
    OwnInput(data, {"MT-DNN": "export/mt-dnn", "MT-DNN-KD": "export/mt-dnn-kd"})  # ... read from their exports

What is compared (run folders under ``<runs>/<profile>/``, see layout.py):

- MT-DNN: ``refine/<task>``, the multi-task model fine-tuned on the task (the paper's MT-DNN);
- MT-DNN-KD: layout.student_dir, ``student_refine/<task>`` where it is finished, else the multi-task ``student``;
- the teacher ensemble: ``ensemble/<task>`` (predictions) and ``teacher/<task>/<k>`` (models), teacher tasks only.

Examples and their probabilities come from the runs' prediction files (``predictions/<task>.<split>.jsonl``) and
the raw texts from ``pipeline.task_data(…).raw``; the models are loaded only when a text of your own is predicted
(from the runs, or from the systems' exports as a user's code loads them: reporting/export.py).
For STS-B (a regression) the "probabilities" are the predicted similarity score, and two predictions disagree when
they differ by `score_gap` or more.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from ..core.encoder import load_tokenizer
from ..core.inference import predict_texts
from ..core.model import MTDNN
from ..experiments.layout import run_dir, teacher_runs
from ..experiments.profiles import Profile, get_profile
from ..experiments.runs import is_finished, read_predictions
from ..glue.data import resolve_glue_dir, split_label
from ..glue.tasks import get_task
from ..reporting.export import exported_folder
from ..reporting.intervals import COMPARISONS, compare
from ..reporting.models import final_run
from ..reporting.results import scores_table
from ..reporting.systems import SYSTEMS
from . import kd_plots
from ..reporting.scoreboard import run_seeds, seeds_label
from .kd_distillation import system_scores
from .kd_teachers import ENSEMBLE, eval_splits_of, texts


def system_of(stage: str) -> str:
    """The name systems.SYSTEMS gives the system a stage scores ("refine": "MT-DNN")."""
    return next(name for name, stages in SYSTEMS if stage in stages)


MTDNN_NAME, KD_NAME, ENSEMBLE_NAME = system_of("refine"), system_of("student_refine"), ENSEMBLE
COMPARED_SYSTEMS = (MTDNN_NAME, KD_NAME, system_of("ensemble"))
"""The systems of systems.SYSTEMS whose per-task scores the comparison draws, in the order of the bars."""
KD_GAIN = next(c for c in COMPARISONS if (c.a, c.b) == ("student_refine", "refine"))
"""The comparison whose interval is shown: MT-DNN-KD − MT-DNN (intervals.py)."""


def label_text(task: str, prediction) -> str:
    """A prediction as read: the class name (STS-B: the score, two decimals)."""
    names = get_task(task).label_names
    return f"{float(prediction):.2f}" if not names else names[int(prediction)]


def probability_table(task: str, probabilities: dict, predictions: dict, title: str) -> pd.DataFrame:
    """One row per class (STS-B: the score) and a last row "prediction", one column per model."""
    names = list(get_task(task).label_names) or ["similarity score (0–5)"]
    table = pd.DataFrame(probabilities, index=names).round(3).astype(object)
    table.loc["prediction"] = [p if isinstance(p, str) else label_text(task, p) for p in predictions.values()]
    table.index.name = title
    return table


class ComparisonData:
    """MT-DNN (refine) against MT-DNN-KD (layout.student_dir) on the runs of `profile` under `runs_dir`.

    `profile` is a name or a Profile (its tasks: those compared, where both models have finished runs; `tasks`
    narrows them); `glue_dir` is the GLUE directory the runs read (None: as glue.data.resolve_glue_dir finds
    it), needed for the raw texts. `score_gap`: how far apart two STS-B scores must be to count as a disagreement.
    """

    def __init__(self, runs_dir, profile: str | Profile, glue_dir=None, tasks=None, score_gap: float = 1.0):
        self.root = Path(runs_dir)
        self.profile = get_profile(profile) if isinstance(profile, str) else profile
        self.glue_dir = resolve_glue_dir(glue_dir)
        self.score_gap = score_gap
        wanted = [get_task(t).name for t in (tasks or self.profile.tasks)]
        self.tasks = [t for t in wanted if self.runs(t)[MTDNN_NAME] and self.runs(t)[KD_NAME]]
        if not self.tasks:
            raise FileNotFoundError(
                f"no task of {wanted} has both a finished MT-DNN run ({run_dir(self.root, self.profile, 'refine')}"
                f"/<task>) and a finished MT-DNN-KD run (student_refine/<task> or student) under "
                f"{self.root / self.profile.name}: run the stages refine and student_refine first (pipeline.run_stages)")
        self._examples: dict[tuple[str, str], pd.DataFrame] = {}
        self._intervals: pd.DataFrame | None = None

    def runs(self, task: str) -> dict[str, Path | None]:
        """The finished run folders compared on `task`: {"MT-DNN", "MT-DNN-KD", "ensemble"} (None: no such run);
        the two models' by models.final_run (MT-DNN-KD's by layout.system_run)."""
        profile_root = self.root / self.profile.name
        ensemble = run_dir(self.root, self.profile, "ensemble", task)
        return {MTDNN_NAME: final_run(profile_root, "refine", task),
                KD_NAME: final_run(profile_root, "student_refine", task),
                ENSEMBLE_NAME: ensemble if get_task(task).has_teacher and is_finished(ensemble) else None}

    def models(self, task: str) -> list[str]:
        """The models shown for `task`: MT-DNN, MT-DNN-KD and, for a task with teachers, the ensemble."""
        return [name for name, run in self.runs(task).items() if run is not None]

    def splits(self, task: str) -> list[str]:
        """The dev splits with predictions from both models ("validation", or "validation_proxy", …)."""
        runs = self.runs(task)
        kd = set(eval_splits_of(runs[KD_NAME], task))
        return [s for s in eval_splits_of(runs[MTDNN_NAME], task) if s in kd]

    def _disagree(self, task: str, a: pd.Series, b: pd.Series) -> pd.Series:
        if get_task(task).is_regression:
            return (a.astype(float) - b.astype(float)).abs() >= self.score_gap
        return a != b

    def examples(self, task: str, split: str | None = None) -> pd.DataFrame:
        """Every dev example of `split` (default: the task's first), in the prediction files' order: idx, text_a,
        text_b, label, gold (label name or score), then for each model its probabilities (a list; STS-B: the
        score) and "<model> pred" (the predicted class or score), and `disagree` (MT-DNN and MT-DNN-KD predict
        differently). Read once per task and split."""
        task = get_task(task).name
        split = split or self.splits(task)[0]
        if (task, split) not in self._examples:
            frame = texts(self.profile, self.glue_dir, task, split)
            names = get_task(task).label_names
            for name, run in self.runs(task).items():
                if run is None:
                    continue
                rows = read_predictions(run, task, split)
                part = pd.DataFrame({"idx": [r["idx"] for r in rows], "label": [r["label"] for r in rows],
                                     name: [r["probabilities"] for r in rows],
                                     f"{name} pred": [r["prediction"] for r in rows]})
                if "label" in frame:
                    part = part.drop(columns="label")
                frame = frame.merge(part, on="idx", how="inner", validate="1:1")
            frame["gold"] = [names[int(y)] if names else float(y) for y in frame.label]
            frame["disagree"] = self._disagree(task, frame[f"{MTDNN_NAME} pred"], frame[f"{KD_NAME} pred"])
            order = [r["idx"] for r in read_predictions(self.runs(task)[MTDNN_NAME], task, split)]
            frame = frame.set_index("idx").loc[order].reset_index()
            self._examples[task, split] = frame
        return self._examples[task, split]

    def listed(self, task: str, split: str | None = None, only_disagreements: bool = False) -> pd.DataFrame:
        """The examples of `task` and `split`, only those where the two models disagree if `only_disagreements`."""
        frame = self.examples(task, split)
        return frame[frame.disagree].reset_index(drop=True) if only_disagreements else frame

    def example(self, task: str, split: str, i: int, only_disagreements: bool = False) -> dict:
        """The `i`-th example listed: {"task", "split", "idx", "text_a", "text_b", "gold", "label",
        "probabilities": {model: list}, "predictions": {model: class index or score}, "disagree"}."""
        frame = self.listed(task, split, only_disagreements)
        if not 0 <= i < len(frame):
            raise IndexError(f"example {i} is not in the list (it has {len(frame)})")
        row, models = frame.iloc[i], self.models(task)
        return {"task": task, "split": split, "idx": int(row.idx), "text_a": row.text_a, "text_b": row.text_b,
                "gold": row.gold, "label": np.asarray(row.label).item(),
                "probabilities": {m: np.atleast_1d(row[m]).astype(float).tolist() for m in models},
                "predictions": {m: np.asarray(row[f"{m} pred"]).item() for m in models},
                "disagree": bool(row.disagree)}

    def example_table(self, task: str, split: str, i: int, only_disagreements: bool = False) -> pd.DataFrame:
        """`example` as a probability_table, titled with the task, split, idx and gold label."""
        shown = self.example(task, split, i, only_disagreements)
        gold = shown["gold"] if isinstance(shown["gold"], str) else f"{shown['gold']:.2f}"
        return probability_table(task, shown["probabilities"], shown["predictions"],
                                 f"{task} {split_label(split)} idx {shown['idx']} (gold: {gold})")

    def disagreement_summary(self) -> pd.DataFrame:
        """Per task and dev split: examples, how many MT-DNN and MT-DNN-KD predict differently (and %), and
        each model's accuracy on those (STS-B: mean absolute error there)."""
        records = []
        for task in self.tasks:
            for split in self.splits(task):
                frame = self.examples(task, split)
                differ = frame[frame.disagree]
                record = {"task": task, "split": split_label(split), "examples": len(frame),
                          "disagreements": len(differ), "disagree (%)": 100 * frame.disagree.mean()}
                for name in (MTDNN_NAME, KD_NAME):
                    if get_task(task).is_regression:
                        error = (differ[f"{name} pred"].astype(float) - differ.label.astype(float)).abs()
                        record[f"{name} on them"] = f"MAE {error.mean():.2f}" if len(differ) else "–"
                    else:
                        right = (differ[f"{name} pred"] == differ.label).sum()
                        record[f"{name} on them"] = f"{right} of {len(differ)} right"
                records.append(record)
        return pd.DataFrame(records)

    def score_data(self) -> pd.DataFrame:
        """The per-task scores behind the bars: kd_distillation.system_scores of results.scores_table for
        COMPARED_SYSTEMS on the compared tasks (every row keeps its split)."""
        table = scores_table(self.root / self.profile.name)
        return system_scores(table, tasks=self.tasks, systems=list(COMPARED_SYSTEMS))

    def score_figure(self):
        """The per-task score bars (a matplotlib Figure), titled with the profile, the runs' seeds and the splits."""
        data = self.score_data()
        splits = ", ".join(dict.fromkeys(data.split_label))
        seeds = seeds_label(run_seeds(data))  # the compared systems' runs
        return kd_plots.plot_system_scores(data, f"MT-DNN vs MT-DNN-KD per task: profile {self.profile.name}, "
                                                 f"{seeds}, {splits} split(s)", systems=list(COMPARED_SYSTEMS))

    def intervals(self) -> pd.DataFrame:
        """MT-DNN-KD − MT-DNN per compared task and on average: Δ with its 95 % paired bootstrap interval over the
        dev examples and the verdict ("no difference" where the interval contains 0); intervals.compare on these
        runs (one seed), computed once."""
        if self._intervals is None:
            self._intervals = compare([self.root / self.profile.name], KD_GAIN, self.tasks)
        return self._intervals

    def interval_text(self, task: str) -> str:
        """One line: MT-DNN-KD − MT-DNN on `task`, Δ [interval], verdict."""
        task = get_task(task).name
        row = self.intervals().set_index("task").loc[task]
        return (f"MT-DNN-KD − MT-DNN on {task}: Δ {row.delta:+.1f} [{row.low:+.1f}, {row.high:+.1f}], 95 % paired "
                f"bootstrap over the dev examples: {row.verdict}")


class OwnInput:
    """Both models (and, for a task with teachers, the ensemble: its teachers' mean) on a text of your own, each
    model loaded once when first needed. MT-DNN's and MT-DNN-KD's are read as a user's code reads them,
    MTDNN.from_pretrained of ``<export>/<task>``, where `exports` ({"MT-DNN": folder, "MT-DNN-KD": folder}, as
    export.export_system writes them) names their exports; otherwise, and for the teachers, from `data`'s runs."""

    def __init__(self, data: ComparisonData, exports: dict[str, Path] | None = None):
        self.data, self.exports = data, dict(exports or {})
        self._models: dict[tuple[str, str], list[MTDNN]] = {}
        self._tokenizer = None

    def model(self, name: str, run: Path, task: str) -> MTDNN:
        """`name`'s model for `task`: from its export where there is one, else from `run`, with the tokenizer and
        max_length of the profile its run was trained with."""
        if name in self.exports:
            return MTDNN.from_pretrained(exported_folder(self.exports[name], task))
        if self._tokenizer is None:
            self._tokenizer = load_tokenizer(self.data.profile.encoder)
        model = MTDNN.load(Path(run) / "model")
        model.tokenizer, model.max_length = self._tokenizer, self.data.profile.max_length
        return model

    def loaded(self, task: str) -> dict[str, list[MTDNN]]:
        """The models of `task`: MT-DNN, MT-DNN-KD and the ensemble's teachers (layout.teacher_runs)."""
        runs = self.data.runs(task)
        members = {MTDNN_NAME: [runs[MTDNN_NAME]], KD_NAME: [runs[KD_NAME]]}
        if runs[ENSEMBLE_NAME] is not None:
            members[ENSEMBLE_NAME] = teacher_runs(self.data.root / self.data.profile.name, task)
        for name, folders in members.items():
            if folders and (task, name) not in self._models:
                self._models[task, name] = [self.model(name, f, task) for f in folders]
        return {name: self._models[task, name] for name, folders in members.items() if folders}

    def predict(self, task: str, text_a: str, text_b: str | None = None) -> dict:
        """The models on one input of `task`: a sentence, or a pair for a pairwise task (inference.predict_texts,
        in the precision the profile evaluates in).

        Returns {"task", "text_a", "text_b", "probabilities": {model: list (STS-B: [score])},
        "predictions": {model: label name (STS-B: the score)}}."""
        spec = get_task(task)
        if not (text_a or "").strip():
            raise ValueError("type a sentence first")
        if len(spec.text_fields) > 1 and not (text_b or "").strip():
            raise ValueError(f"{spec.name} compares two texts: give the second one too ({spec.text_fields[1]})")
        example = dict(zip(spec.text_fields, (text_a, text_b)))
        precision = "bf16" if self.data.profile.mixed_precision == "bf16" else "float32"
        probabilities, predictions = {}, {}
        for name, models in self.loaded(spec.name).items():
            answers = [predict_texts(m, spec.name, [example], precision=precision)[0] for m in models]
            p = np.mean([[a["score"]] if spec.is_regression else list(a["probabilities"].values()) for a in answers],
                        axis=0)
            probabilities[name] = p.tolist()
            predictions[name] = float(p[0]) if spec.is_regression else spec.label_names[int(p.argmax())]
        return {"task": spec.name, "text_a": text_a, "text_b": text_b if len(spec.text_fields) > 1 else None,
                "probabilities": probabilities, "predictions": predictions}

    def table(self, task: str, text_a: str, text_b: str | None = None) -> pd.DataFrame:
        """`predict` as a probability_table, titled with the task and the text(s)."""
        result = self.predict(task, text_a, text_b)
        texts_typed = " ‖ ".join(t for t in (result["text_a"], result["text_b"]) if t)
        return probability_table(result["task"], result["probabilities"], result["predictions"],
                                 f"{result['task']}: {texts_typed}")
