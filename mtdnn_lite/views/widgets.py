"""MT-DNN against MT-DNN-KD, interactively (notebook 07): browse the dev examples of a task, keep those on which
the two models disagree, see both models' class probabilities (and the teacher ensemble's, for a task with
teachers) side by side, type a sentence or a pair of your own, and compare the per-task scores.

`Comparison` holds all the logic and builds the ipywidgets; every control calls a plain method that updates the
widgets' values and returns the data shown, so the tests drive it without a browser:

    comparison = Comparison("runs", "quick", glue_dir)
    comparison.select_task("RTE")            # the dev examples of RTE (a DataFrame)
    comparison.toggle_disagreements(True)    # only those where the two models' predictions differ
    comparison.show_example(0)               # the first of them: texts, gold label, each model's probabilities
    comparison.predict_text("A man sleeps.", "Nobody sleeps.")   # both models on your own pair
    comparison.score_data()                  # the per-task scores behind the bars
    comparison.show()                        # the widget, in a notebook

What is compared (run folders under ``<runs>/<profile>/``, see pipeline.py):

- MT-DNN: ``refine/<task>``, the multi-task model fine-tuned on the task (the paper's MT-DNN);
- MT-DNN-KD: ``student_refine/<task>`` where it exists, else the multi-task ``student``;
- the teacher ensemble: ``ensemble/<task>`` (predictions) and ``teacher/<task>/<k>`` (models), teacher tasks only.

Examples and their probabilities come from the runs' prediction files (``predictions/<task>.<split>.jsonl``) and
the raw texts from ``pipeline.task_data(…).raw``; the models are loaded only when a text of your own is predicted.
For STS-B (a regression) the "probabilities" are the predicted similarity score, and two predictions disagree when
they differ by `score_gap` or more.
"""

import html
from pathlib import Path

import datasets
import ipywidgets as W
import numpy as np
import pandas as pd

from ..core.encoder import load_tokenizer
from ..core.evaluation import predict
from ..core.model import MTDNN
from ..experiments.pipeline import run_dir
from ..experiments.profiles import Profile, get_profile
from ..experiments.runs import read_json, read_predictions
from ..glue.data import split_label
from ..glue.features import encode
from ..glue.tasks import get_task
from ..reporting.intervals import COMPARISONS, compare
from ..reporting.results import scores_table
from . import kd_analysis, plots
from .glue_stats import resolve_glue_dir

MTDNN_NAME, KD_NAME, ENSEMBLE_NAME = "MT-DNN", "MT-DNN-KD", "ensemble"
SYSTEMS = ("MT-DNN", "MT-DNN-KD", "Teacher ensemble")
"""The systems of results.SYSTEMS whose per-task scores the widget draws."""
KD_GAIN = next(c for c in COMPARISONS if (c.a, c.b) == ("student_refine", "refine"))
"""The comparison whose interval the widget shows: MT-DNN-KD − MT-DNN (intervals.py)."""


def _finished(path: Path) -> bool:
    return (Path(path) / "done.json").is_file()


def _hex(rgb) -> str:
    return "#" + "".join(f"{round(255 * c):02x}" for c in rgb)


class Comparison:
    """MT-DNN (refine) against MT-DNN-KD (student_refine, else student) on the runs of `profile` under `runs_dir`.

    `profile` is a name or a Profile (its tasks: those compared, where both models have finished runs; `tasks`
    narrows them); `glue_dir` is the GLUE directory the runs read (None: as glue_stats.resolve_glue_dir finds
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
                f"{self.root / self.profile.name}: run pipeline.run_refine and pipeline.run_student_refine first")
        self._examples: dict[tuple[str, str], pd.DataFrame] = {}
        self._models: dict[tuple[str, str], list[MTDNN]] = {}
        self._intervals: pd.DataFrame | None = None
        self._tokenizer = None
        self._updating = False
        self.task, self.split, self.only_disagreements, self.position = self.tasks[0], None, False, None
        self._build()
        self.select_task(self.tasks[0])

    # --- the data -------------------------------------------------------------------------------------------

    def runs(self, task: str) -> dict[str, Path | None]:
        """The finished run folders compared on `task`: {"MT-DNN", "MT-DNN-KD", "ensemble"} (None: no such run)."""
        refine = run_dir(self.root, self.profile, "refine", task)
        student_refine = run_dir(self.root, self.profile, "student_refine", task)
        student = run_dir(self.root, self.profile, "student")
        kd = student_refine if _finished(student_refine) else student if _finished(student) else None
        if kd == student and task not in read_json(student / "config.json").get("tasks", []):
            kd = None
        ensemble = run_dir(self.root, self.profile, "ensemble", task)
        return {MTDNN_NAME: refine if _finished(refine) else None, KD_NAME: kd,
                ENSEMBLE_NAME: ensemble if get_task(task).has_teacher and _finished(ensemble) else None}

    def models(self, task: str) -> list[str]:
        """The models shown for `task`: MT-DNN, MT-DNN-KD and, for a task with teachers, the ensemble."""
        return [name for name, run in self.runs(task).items() if run is not None]

    def splits(self, task: str) -> list[str]:
        """The dev splits with predictions from both models ("validation", or "validation_proxy", …)."""
        runs = self.runs(task)
        kd = set(kd_analysis.eval_splits_of(runs[KD_NAME], task))
        return [s for s in kd_analysis.eval_splits_of(runs[MTDNN_NAME], task) if s in kd]

    def _disagree(self, task: str, a: pd.Series, b: pd.Series) -> pd.Series:
        if get_task(task).is_regression:
            return (a.astype(float) - b.astype(float)).abs() >= self.score_gap
        return a != b

    def examples(self, task: str | None = None, split: str | None = None) -> pd.DataFrame:
        """Every dev example of `split` (default: the current task and split), in the prediction files' order:
        idx, text_a, text_b, label, gold (label name or score), then for each model its probabilities (a list;
        STS-B: the score) and "<model> pred" (the predicted class or score), and `disagree` (MT-DNN and
        MT-DNN-KD predict differently). Read once per task and split."""
        task = get_task(task).name if task else self.task
        split = split or (self.split if task == self.task and self.split else self.splits(task)[0])
        if (task, split) not in self._examples:
            frame = kd_analysis.texts(self.profile, self.glue_dir, task, split)
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

    def current_examples(self) -> pd.DataFrame:
        """The examples listed now: those of the current task and split, only the disagreements if filtered."""
        frame = self.examples()
        return frame[frame.disagree].reset_index(drop=True) if self.only_disagreements else frame

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
        """The per-task scores behind the bars: kd_analysis.system_scores of results.scores_table for MT-DNN,
        MT-DNN-KD and the teacher ensemble, on the compared tasks (every row keeps its split)."""
        table = scores_table(self.root / self.profile.name)
        return kd_analysis.system_scores(table, tasks=self.tasks, systems=list(SYSTEMS))

    def intervals(self) -> pd.DataFrame:
        """MT-DNN-KD − MT-DNN per compared task and on average: Δ with its 95 % paired bootstrap interval over the
        dev examples and the verdict ("no difference" where the interval contains 0); intervals.compare on these
        runs (one seed), computed once."""
        if self._intervals is None:
            self._intervals = compare([self.root / self.profile.name], KD_GAIN, self.tasks)
        return self._intervals

    def interval_text(self, task: str | None = None) -> str:
        """One line: MT-DNN-KD − MT-DNN on `task` (default: the current one), Δ [interval], verdict."""
        task = get_task(task or self.task).name
        row = self.intervals().set_index("task").loc[task]
        return (f"MT-DNN-KD − MT-DNN on {task}: Δ {row.delta:+.1f} [{row.low:+.1f}, {row.high:+.1f}], 95 % paired "
                f"bootstrap over the dev examples: {row.verdict}")

    def score_figure(self):
        """The per-task score bars (a matplotlib Figure), titled with the profile and the splits."""
        data = self.score_data()
        splits = ", ".join(dict.fromkeys(data.split_label))
        return plots.plot_system_scores(data, f"MT-DNN vs MT-DNN-KD per task: profile {self.profile.name}, "
                                              f"{splits} split(s)", systems=list(SYSTEMS))

    # --- predicting a text of your own ----------------------------------------------------------------------

    def _loaded(self, task: str) -> dict[str, list[MTDNN]]:
        """The models of `task`, loaded once: MT-DNN, MT-DNN-KD and the ensemble's teachers."""
        runs = self.runs(task)
        members = {MTDNN_NAME: [runs[MTDNN_NAME]], KD_NAME: [runs[KD_NAME]]}
        if runs[ENSEMBLE_NAME] is not None:
            members[ENSEMBLE_NAME] = kd_analysis.teacher_runs(self.root, self.profile).get(task, [])
        loaded = {}
        for name, folders in members.items():
            if folders and (task, name) not in self._models:
                self._models[task, name] = [MTDNN.load(Path(f) / "model") for f in folders]
            if folders:
                loaded[name] = self._models[task, name]
        return loaded

    def predict_text(self, text_a: str, text_b: str | None = None, task: str | None = None) -> dict:
        """Both models (and, for a task with teachers, the ensemble: its teachers' mean) on one input of
        `task` (default: the current one): a sentence, or a pair for a pairwise task.

        Returns {"task", "text_a", "text_b", "probabilities": {model: list (STS-B: [score])},
        "predictions": {model: label name (STS-B: the score)}}; the free-text panel shows the same."""
        task = get_task(task).name if task else self.task
        spec = get_task(task)
        if not (text_a or "").strip():
            raise ValueError("type a sentence first")
        if len(spec.text_fields) > 1 and not (text_b or "").strip():
            raise ValueError(f"{task} compares two texts: give the second one too ({spec.text_fields[1]})")
        if self._tokenizer is None:
            self._tokenizer = load_tokenizer(self.profile.encoder)
        row = {spec.text_fields[0]: [text_a]}
        if len(spec.text_fields) > 1:
            row[spec.text_fields[1]] = [text_b]
        row |= {"label": [0.0 if spec.is_regression else 0], "idx": [0]}
        datasets.disable_progress_bars()
        encoded = encode(task, datasets.Dataset.from_dict(row), self._tokenizer, self.profile.max_length)
        pad = self._tokenizer.pad_token_id
        probabilities, predictions = {}, {}
        for name, models in self._loaded(task).items():
            p = np.mean([predict(m, task, encoded, pad) for m in models], axis=0)[0]
            p = np.atleast_1d(p).astype(float)
            probabilities[name] = p.tolist()
            predictions[name] = float(p[0]) if spec.is_regression else spec.label_names[int(p.argmax())]
        result = {"task": task, "text_a": text_a, "text_b": text_b if len(spec.text_fields) > 1 else None,
                  "probabilities": probabilities, "predictions": predictions}
        self.free_output.value = self._probability_html(task, probabilities, predictions)
        return result

    def predict_table(self, text_a: str, text_b: str | None = None, task: str | None = None) -> pd.DataFrame:
        """`predict_text` as a table: one row per class (STS-B: the score) and a last row "prediction", one
        column per model."""
        result = self.predict_text(text_a, text_b, task)
        names = list(get_task(result["task"]).label_names) or ["similarity score (0–5)"]
        table = pd.DataFrame(result["probabilities"], index=names).round(3).astype(object)
        table.loc["prediction"] = [p if isinstance(p, str) else f"{p:.2f}" for p in result["predictions"].values()]
        texts = " ‖ ".join(t for t in (result["text_a"], result["text_b"]) if t)
        table.index.name = f"{result['task']}: {texts}"
        return table

    # --- the controls' callbacks ----------------------------------------------------------------------------

    def select_task(self, task: str, split: str | None = None) -> pd.DataFrame:
        """Switch to `task` (and `split`, default its first dev split): refill the example list and show its
        first example. Returns the examples now listed."""
        task = get_task(task).name
        if task not in self.tasks:
            raise KeyError(f"{task} is not compared here; the tasks with both runs are {', '.join(self.tasks)}")
        splits = self.splits(task)
        split = split or splits[0]
        if split not in splits:
            raise KeyError(f"{task} has no predictions of split {split!r} in both runs; it has {splits}")
        self.task, self.split = task, split
        with self._quiet():
            self.task_box.value = task
            self.split_box.options = [(split_label(s), s) for s in splits]
            self.split_box.value = split
            spec = get_task(task)
            self.text_b_box.layout.display = None if len(spec.text_fields) > 1 else "none"
            self.text_a_box.placeholder = spec.text_fields[0]
            self.text_b_box.placeholder = spec.text_fields[1] if len(spec.text_fields) > 1 else ""
            self.free_output.value = ""
        self.interval_label.value = f"<p>{html.escape(self.interval_text(task))}</p>"
        return self._refresh()

    def select_split(self, split: str) -> pd.DataFrame:
        """Switch the current task to another of its dev splits (MNLI: matched, mismatched)."""
        return self.select_task(self.task, split)

    def toggle_disagreements(self, on: bool | None = None) -> pd.DataFrame:
        """List only the examples on which MT-DNN and MT-DNN-KD disagree (`on` True), or all (False); None
        flips the filter. Returns the examples now listed."""
        self.only_disagreements = (not self.only_disagreements) if on is None else bool(on)
        with self._quiet():
            self.filter_box.value = self.only_disagreements
        return self._refresh()

    def show_example(self, i: int) -> dict:
        """Show the `i`-th example of the current list. Returns {"task", "split", "idx", "text_a", "text_b",
        "gold", "label", "probabilities": {model: list}, "predictions": {model: class index or score},
        "disagree"}."""
        frame = self.current_examples()
        if not 0 <= i < len(frame):
            raise IndexError(f"example {i} is not in the list (it has {len(frame)})")
        row = frame.iloc[i]
        models = self.models(self.task)
        probabilities = {m: np.atleast_1d(row[m]).astype(float).tolist() for m in models}
        predictions = {m: np.asarray(row[f"{m} pred"]).item() for m in models}
        self.position = i
        with self._quiet():
            self.example_box.value = i
        shown = {"task": self.task, "split": self.split, "idx": int(row.idx), "text_a": row.text_a,
                 "text_b": row.text_b, "gold": row.gold, "label": np.asarray(row.label).item(),
                 "probabilities": probabilities,
                 "predictions": predictions, "disagree": bool(row.disagree)}
        self.example_output.value = self._example_html(shown)
        return shown

    def example_table(self, i: int) -> pd.DataFrame:
        """`show_example(i)` as a table, for reading without the widget: one row per class (STS-B: the score)
        and a last row "prediction", one column per model."""
        shown = self.show_example(i)
        names = list(get_task(self.task).label_names) or ["similarity score (0–5)"]
        table = pd.DataFrame(shown["probabilities"], index=names).round(3).astype(object)
        table.loc["prediction"] = [self._label(self.task, p) for p in shown["predictions"].values()]
        gold = shown["gold"] if isinstance(shown["gold"], str) else f"{shown['gold']:.2f}"
        table.index.name = f"{self.task} {split_label(self.split)} idx {shown['idx']} (gold: {gold})"
        return table

    # --- the widgets ----------------------------------------------------------------------------------------

    def _quiet(self):
        """A context in which setting widget values does not call the callbacks back."""
        comparison = self

        class Quiet:
            def __enter__(self):
                self.before, comparison._updating = comparison._updating, True

            def __exit__(self, *exc):
                comparison._updating = self.before

        return Quiet()

    def _build(self) -> None:
        wide = W.Layout(width="98%")
        self.task_box = W.Dropdown(options=self.tasks, description="task")
        self.split_box = W.Dropdown(options=[], description="split")
        self.filter_box = W.Checkbox(value=False, description="only where MT-DNN and MT-DNN-KD disagree", indent=False)
        self.count_label = W.HTML()
        self.interval_label = W.HTML()
        self.interval_table = W.HTML()
        self.example_box = W.Select(options=[], rows=8, layout=wide)
        self.example_output = W.HTML()
        self.text_a_box = W.Textarea(description="text a", layout=wide)
        self.text_b_box = W.Textarea(description="text b", layout=wide)
        self.predict_button = W.Button(description="Predict", button_style="primary", icon="play")
        self.free_output = W.HTML()
        # an Image, not an Output widget: nbclient (papermill) mirrors an Output widget by sending on the kernel's
        # shell channel while it waits for the cell's reply there, which can stall the cell until its timeout
        # (jupyter/nbclient#312)
        self.score_image = W.Image(format="png", layout=W.Layout(max_width="100%"))

        def on(widget, method):
            def callback(change):
                if not self._updating and change["new"] is not None:
                    method(change["new"])
            widget.observe(callback, names="value")

        on(self.task_box, self.select_task)
        on(self.split_box, self.select_split)
        on(self.filter_box, self.toggle_disagreements)
        on(self.example_box, self.show_example)

        def predict_clicked(_):
            try:
                self.predict_text(self.text_a_box.value, self.text_b_box.value)
            except ValueError as e:
                self.free_output.value = f"<p style='color:#d55e00'>{html.escape(str(e))}</p>"

        self.predict_button.on_click(predict_clicked)
        header = W.HTML(f"<b>MT-DNN</b> (refine) vs <b>MT-DNN-KD</b> (student_refine, else student), profile "
                        f"<code>{self.profile.name}</code>, runs <code>{html.escape(str(self.root))}</code>")
        browse = W.VBox([W.HBox([self.task_box, self.split_box]), self.interval_label,
                         W.HBox([self.filter_box, self.count_label]), self.example_box, self.example_output])
        free = W.VBox([W.HTML("Type a sentence (a pair for a pairwise task) for the task chosen above."),
                       self.text_a_box, self.text_b_box, self.predict_button, self.free_output])
        self.tabs = W.Tab(children=[browse, free, W.VBox([self.score_image, self.interval_table])])
        for k, title in enumerate(["dev examples", "your own input", "scores per task"]):
            self.tabs.set_title(k, title)
        self.widget = W.VBox([header, self.tabs])

    def _refresh(self) -> pd.DataFrame:
        """Refill the example list after a change of task, split or filter, and show its first example."""
        frame = self.current_examples()
        all_examples = self.examples()
        with self._quiet():
            self.example_box.options = self._options(frame)
            self.example_box.value = 0 if len(frame) else None
        self.count_label.value = (f"&nbsp; {len(frame):,} of {len(all_examples):,} "
                                  f"{split_label(self.split)} examples listed; the models disagree on "
                                  f"{int(all_examples.disagree.sum()):,}")
        if len(frame):
            self.show_example(0)
        else:
            self.position = None
            self.example_output.value = "<i>no example to show</i>"
        return frame

    def _options(self, frame: pd.DataFrame) -> list[tuple[str, int]]:
        """One line per listed example: ≠ where the models disagree, idx, gold, both predictions, the text."""
        options = []
        for i, (idx, a, b, gold, p, q, differ) in enumerate(zip(
                frame.idx, frame.text_a, frame.text_b, frame.gold, frame[f"{MTDNN_NAME} pred"],
                frame[f"{KD_NAME} pred"], frame.disagree)):
            text = a if b is None else f"{a} ‖ {b}"
            text = text if len(text) <= 80 else text[:77] + "…"
            gold = gold if isinstance(gold, str) else f"{gold:.2f}"
            options.append((f"{'≠' if differ else '='} idx {idx} · gold {gold} · {MTDNN_NAME} "
                            f"{self._label(self.task, p)} · {KD_NAME} {self._label(self.task, q)} · {text}", i))
        return options

    def _label(self, task: str, prediction) -> str:
        names = get_task(task).label_names
        return f"{float(prediction):.2f}" if not names else names[int(prediction)]

    def _probability_html(self, task: str, probabilities: dict, predictions: dict) -> str:
        """A table: one row per class (STS-B: the score), one column per model, each cell a bar."""
        spec = get_task(task)
        palette = [_hex(c) for c in plots.colors(3)]
        head = "".join(f"<th style='padding:2px 10px'>{html.escape(m)}</th>" for m in probabilities)
        rows = []
        classes = spec.label_names or ("similarity score (0–5)",)
        for c, name in enumerate(classes):
            cells = []
            for k, (model, p) in enumerate(probabilities.items()):
                value = float(p[c])
                share = min(max(value / 5 if spec.is_regression else value, 0), 1)
                cells.append(f"<td style='padding:2px 10px'><div style='background:{palette[k % 3]};height:10px;"
                             f"width:{100 * share:.0f}px;display:inline-block'></div> {value:.3f}</td>")
            rows.append(f"<tr><td style='padding:2px 10px'>{html.escape(name)}</td>{''.join(cells)}</tr>")
        labels = [p if isinstance(p, str) else self._label(task, p) for p in predictions.values()]
        verdict = "".join(f"<td style='padding:2px 10px'><b>{html.escape(label)}</b></td>" for label in labels)
        rows.append(f"<tr><td style='padding:2px 10px'><b>prediction</b></td>{verdict}</tr>")
        return (f"<table><tr><th style='padding:2px 10px'>{'class' if spec.label_names else ''}</th>{head}</tr>"
                f"{''.join(rows)}</table>")

    def _example_html(self, shown: dict) -> str:
        spec = get_task(shown["task"])
        fields = [(spec.text_fields[0], shown["text_a"])]
        if shown["text_b"] is not None:
            fields.append((spec.text_fields[1], shown["text_b"]))
        texts = "".join(f"<p><b>{html.escape(f)}</b>: {html.escape(str(t))}</p>" for f, t in fields)
        gold = shown["gold"] if isinstance(shown["gold"], str) else f"{float(shown['gold']):.2f}"
        verdict = ("<span style='color:#d55e00'>the models disagree</span>" if shown["disagree"]
                   else "the models agree")
        return (f"<p>{shown['task']} {split_label(shown['split'])}, idx {shown['idx']} · gold: "
                f"<b>{html.escape(gold)}</b> · {verdict}</p>{texts}"
                + self._probability_html(shown["task"], shown["probabilities"], shown["predictions"]))

    def draw_scores(self) -> bytes:
        """Draw the per-task score bars into the "scores per task" tab; returns the PNG."""
        import io

        import matplotlib.pyplot as plt

        fig = self.score_figure()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
        plt.close(fig)
        self.score_image.value = buffer.getvalue()
        shown = self.intervals()[["task", "a", "b", "delta", "low", "high", "verdict"]].round(1)
        shown.columns = ["task", "MT-DNN-KD", "MT-DNN", "Δ", "95 % low", "95 % high", "verdict"]
        self.interval_table.value = ("<p>MT-DNN-KD − MT-DNN with 95 % paired bootstrap intervals over the dev "
                                     "examples (one seed):</p>" + shown.to_html(index=False))
        return self.score_image.value

    def show(self) -> None:
        """Display the widget (in a notebook), with the score bars drawn."""
        from IPython.display import display

        self.draw_scores()
        display(self.widget)
