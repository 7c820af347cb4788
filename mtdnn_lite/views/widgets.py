"""MT-DNN against MT-DNN-KD, interactively (notebook 07): browse the dev examples of a task, keep those on which
the two models disagree, see both models' class probabilities (and the teacher ensemble's, for a task with
teachers) side by side, type a sentence or a pair of your own, and compare the per-task scores.

`Comparison` lays out the ipywidgets and wires their callbacks; what it shows comes from its data model,
comparison.ComparisonData (`comparison.data`) and comparison.OwnInput (`comparison.own`). Every control calls a
plain method that updates the widgets' values and returns the data shown, so the tests drive it without a browser:

    comparison = Comparison("runs", "quick", glue_dir)
    comparison.select_task("RTE")            # the dev examples of RTE (a DataFrame)
    comparison.toggle_disagreements(True)    # only those where the two models' predictions differ
    comparison.show_example(0)               # the first of them: texts, gold label, each model's probabilities
    comparison.predict_text("A man sleeps.", "Nobody sleeps.")   # both models on your own pair
    comparison.show()                        # the widget, in a notebook
"""

import html
import io
from contextlib import contextmanager

import ipywidgets as W
import matplotlib.pyplot as plt
import pandas as pd

from ..experiments.profiles import Profile
from ..glue.data import split_label
from ..glue.tasks import get_task
from .comparison import KD_NAME, MTDNN_NAME, ComparisonData, OwnInput, label_text
from .kd_distillation import distillation_reading
from .plots import colors

CELL = "style='padding:2px 10px'"


def _hex(rgb) -> str:
    return "#" + "".join(f"{round(255 * c):02x}" for c in rgb)


def probability_html(task: str, probabilities: dict, predictions: dict) -> str:
    """A table: one row per class (STS-B: the score), one column per model, each cell a bar."""
    spec = get_task(task)
    palette = [_hex(c) for c in colors(3)]
    head = "".join(f"<th {CELL}>{html.escape(m)}</th>" for m in probabilities)
    rows = []
    for c, name in enumerate(spec.label_names or ("similarity score (0–5)",)):
        cells = []
        for k, p in enumerate(probabilities.values()):
            value = float(p[c])
            share = min(max(value / 5 if spec.is_regression else value, 0), 1)
            cells.append(f"<td {CELL}><div style='background:{palette[k % 3]};height:10px;"
                         f"width:{100 * share:.0f}px;display:inline-block'></div> {value:.3f}</td>")
        rows.append(f"<tr><td {CELL}>{html.escape(name)}</td>{''.join(cells)}</tr>")
    labels = [p if isinstance(p, str) else label_text(task, p) for p in predictions.values()]
    verdict = "".join(f"<td {CELL}><b>{html.escape(label)}</b></td>" for label in labels)
    rows.append(f"<tr><td {CELL}><b>prediction</b></td>{verdict}</tr>")
    return f"<table><tr><th {CELL}>{'class' if spec.label_names else ''}</th>{head}</tr>{''.join(rows)}</table>"


def example_html(shown: dict) -> str:
    """An example (ComparisonData.example): its task, split and idx, gold label, texts and probability_html."""
    spec = get_task(shown["task"])
    fields = [(spec.text_fields[0], shown["text_a"])]
    if shown["text_b"] is not None:
        fields.append((spec.text_fields[1], shown["text_b"]))
    texts = "".join(f"<p><b>{html.escape(f)}</b>: {html.escape(str(t))}</p>" for f, t in fields)
    gold = shown["gold"] if isinstance(shown["gold"], str) else f"{float(shown['gold']):.2f}"
    verdict = "<span style='color:#d55e00'>the models disagree</span>" if shown["disagree"] else "the models agree"
    return (f"<p>{shown['task']} {split_label(shown['split'])}, idx {shown['idx']} · gold: "
            f"<b>{html.escape(gold)}</b> · {verdict}</p>{texts}"
            + probability_html(shown["task"], shown["probabilities"], shown["predictions"]))


def option_lines(task: str, frame: pd.DataFrame) -> list[tuple[str, int]]:
    """One line per listed example: ≠ where the models disagree, idx, gold, both predictions, the text."""
    options = []
    for i, (idx, a, b, gold, p, q, differ) in enumerate(zip(
            frame.idx, frame.text_a, frame.text_b, frame.gold, frame[f"{MTDNN_NAME} pred"],
            frame[f"{KD_NAME} pred"], frame.disagree)):
        text = a if b is None else f"{a} ‖ {b}"
        text = text if len(text) <= 80 else text[:77] + "…"
        gold = gold if isinstance(gold, str) else f"{gold:.2f}"
        options.append((f"{'≠' if differ else '='} idx {idx} · gold {gold} · {MTDNN_NAME} {label_text(task, p)} · "
                        f"{KD_NAME} {label_text(task, q)} · {text}", i))
    return options


class Comparison:
    """The widget: ComparisonData(runs_dir, profile, glue_dir, tasks, score_gap) in three tabs (dev examples,
    your own input, scores per task), the current task, split, filter and example kept here."""

    def __init__(self, runs_dir, profile: str | Profile, glue_dir=None, tasks=None, score_gap: float = 1.0):
        self.data = ComparisonData(runs_dir, profile, glue_dir, tasks, score_gap)
        self.own = OwnInput(self.data)
        self.tasks = self.data.tasks
        self.task, self.split, self.only_disagreements, self.position = self.tasks[0], None, False, None
        self._updating = False
        self._build()
        self.select_task(self.tasks[0])

    @contextmanager
    def _quiet(self):
        """A context in which setting widget values does not call the callbacks back."""
        before, self._updating = self._updating, True
        try:
            yield
        finally:
            self._updating = before

    def _build(self) -> None:
        wide = W.Layout(width="98%")
        self.task_box = W.Dropdown(options=self.tasks, description="task")
        self.split_box = W.Dropdown(options=[], description="split")
        self.filter_box = W.Checkbox(value=False, description="only where MT-DNN and MT-DNN-KD disagree", indent=False)
        self.count_label, self.interval_label, self.interval_table = W.HTML(), W.HTML(), W.HTML()
        self.example_box = W.Select(options=[], rows=8, layout=wide)
        self.example_output, self.free_output = W.HTML(), W.HTML()
        self.text_a_box = W.Textarea(description="text a", layout=wide)
        self.text_b_box = W.Textarea(description="text b", layout=wide)
        self.predict_button = W.Button(description="Predict", button_style="primary", icon="play")
        # an Image, not an Output widget: nbclient (papermill) mirrors an Output widget by sending on the kernel's
        # shell channel while it waits for the cell's reply there, which can stall the cell until its timeout
        # (jupyter/nbclient#312)
        self.score_image = W.Image(format="png", layout=W.Layout(max_width="100%"))
        for widget, method in ((self.task_box, self.select_task), (self.split_box, self.select_split),
                               (self.filter_box, self.toggle_disagreements), (self.example_box, self.show_example)):
            widget.observe(lambda change, method=method: None if self._updating or change["new"] is None
                           else method(change["new"]), names="value")
        self.predict_button.on_click(lambda _: self._predict_clicked())
        header = W.HTML(f"<b>MT-DNN</b> (refine) vs <b>MT-DNN-KD</b> (student_refine, else student), profile "
                        f"<code>{self.data.profile.name}</code>, runs <code>{html.escape(str(self.data.root))}</code>")
        browse = W.VBox([W.HBox([self.task_box, self.split_box]), self.interval_label,
                         W.HBox([self.filter_box, self.count_label]), self.example_box, self.example_output])
        free = W.VBox([W.HTML("Type a sentence (a pair for a pairwise task) for the task chosen above."),
                       self.text_a_box, self.text_b_box, self.predict_button, self.free_output])
        self.tabs = W.Tab(children=[browse, free, W.VBox([self.score_image, self.interval_table])])
        for k, title in enumerate(["dev examples", "your own input", "scores per task"]):
            self.tabs.set_title(k, title)
        self.widget = W.VBox([header, self.tabs])

    def _predict_clicked(self) -> None:
        try:
            self.predict_text(self.text_a_box.value, self.text_b_box.value)
        except ValueError as e:
            self.free_output.value = f"<p style='color:#d55e00'>{html.escape(str(e))}</p>"

    def current_examples(self) -> pd.DataFrame:
        """The examples listed now: those of the current task and split, only the disagreements if filtered."""
        return self.data.listed(self.task, self.split, self.only_disagreements)

    def select_task(self, task: str, split: str | None = None) -> pd.DataFrame:
        """Switch to `task` (and `split`, default its first dev split): refill the example list and show its
        first example. Returns the examples now listed."""
        task = get_task(task).name
        if task not in self.tasks:
            raise KeyError(f"{task} is not compared here; the tasks with both runs are {', '.join(self.tasks)}")
        splits = self.data.splits(task)
        split = split or splits[0]
        if split not in splits:
            raise KeyError(f"{task} has no predictions of split {split!r} in both runs; it has {splits}")
        self.task, self.split = task, split
        spec = get_task(task)
        with self._quiet():
            self.task_box.value = task
            self.split_box.options = [(split_label(s), s) for s in splits]
            self.split_box.value = split
            self.text_b_box.layout.display = None if len(spec.text_fields) > 1 else "none"
            self.text_a_box.placeholder = spec.text_fields[0]
            self.text_b_box.placeholder = spec.text_fields[1] if len(spec.text_fields) > 1 else ""
            self.free_output.value = ""
        self.interval_label.value = f"<p>{html.escape(self.data.interval_text(task))}</p>"
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
        """Show the `i`-th example of the current list; returns it (ComparisonData.example)."""
        shown = self.data.example(self.task, self.split, i, self.only_disagreements)
        self.position = i
        with self._quiet():
            self.example_box.value = i
        self.example_output.value = example_html(shown)
        return shown

    def predict_text(self, text_a: str, text_b: str | None = None, task: str | None = None) -> dict:
        """OwnInput.predict on `task` (default: the current one), shown in the free-text panel."""
        result = self.own.predict(task or self.task, text_a, text_b)
        self.free_output.value = probability_html(result["task"], result["probabilities"], result["predictions"])
        return result

    def _refresh(self) -> pd.DataFrame:
        """Refill the example list after a change of task, split or filter, and show its first example."""
        frame, all_examples = self.current_examples(), self.data.examples(self.task, self.split)
        with self._quiet():
            self.example_box.options = option_lines(self.task, frame)
            self.example_box.value = 0 if len(frame) else None
        self.count_label.value = (f"&nbsp; {len(frame):,} of {len(all_examples):,} {split_label(self.split)} "
                                  f"examples listed; the models disagree on {int(all_examples.disagree.sum()):,}")
        if len(frame):
            self.show_example(0)
        else:
            self.position = None
            self.example_output.value = "<i>no example to show</i>"
        return frame

    def draw_scores(self) -> bytes:
        """Draw into the "scores per task" tab the per-task score bars, MT-DNN-KD − MT-DNN's intervals, and the
        distillation reading (the teacher tasks and the others, the share of the ensemble's gain the student keeps,
        the ensemble against its mean teacher, the student against the ensemble); returns the PNG."""
        fig, buffer = self.data.score_figure(), io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
        plt.close(fig)
        self.score_image.value = buffer.getvalue()
        shown = self.data.intervals()[["task", "a", "b", "delta", "low", "high", "verdict"]].round(1)
        shown.columns = ["task", "MT-DNN-KD", "MT-DNN", "Δ", "95 % low", "95 % high", "verdict"]
        reading, text = distillation_reading([self.data.root / self.data.profile.name], self.data.tasks)
        self.interval_table.value = (f"<p>MT-DNN-KD − MT-DNN with 95 % paired bootstrap intervals over the dev "
                                     f"examples (one seed):</p>{shown.to_html(index=False)}<p><b>Distillation, read as the "
                                     f"paper reads it.</b> {html.escape(text)}</p>{reading.to_html(index=False)}")
        return self.score_image.value

    def show(self) -> None:
        """Display the widget (in a notebook), with the score bars drawn."""
        from IPython.display import display

        self.draw_scores()
        display(self.widget)
