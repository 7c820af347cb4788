"""The model card of an exported system (export.py): a README.md with YAML metadata and a `model-index`, every
number in it read from the profile's results folder (``results/<profile>/``, as `reproduce` writes it) and the runs
the models come from, none typed:

- each task's dev scores (dev-proxy where no labeled dev set exists, named so) from scores.csv, checked against
  the run's own metrics.json, so that a card cannot describe other runs than the models it ships with;
- the mean ± sd over the seeds (seeds.csv) and the paired bootstrap intervals of the papers' comparisons that
  involve the system (comparisons.csv);
- the profile's recipe and where it departs from the defaults (experiments/profiles.py: the MT-DNN paper's
  settings), the training data and sizes (the runs' data.json), the inference cost of MT-DNN-KD against its teacher
  ensemble (inference_cost.json), and the limitations these numbers show.
"""

import dataclasses
import json
import math
from collections import Counter
from pathlib import Path

import pandas as pd
from huggingface_hub import EvalResult, ModelCard, ModelCardData

from ..core.encoder import hub_name
from ..experiments.profiles import Profile
from ..experiments.runs import read_json, read_predictions
from ..glue.data import split_label
from ..glue.tasks import get_task
from .cells import reported_splits, split_note, task_cell
from .intervals import COMPARISONS
from .results import markdown_table
from .systems import STAGE_DESCRIPTIONS

METRIC_IDS = {"accuracy": "accuracy", "f1": "f1", "mcc": "matthews_correlation", "pearson": "pearsonr",
              "spearman": "spearmanr"}
"""The kit's metric names as the hub's model-index names them."""
PAPER_SETTINGS = ("optimizer", "lr", "batch_size", "warmup", "weight_decay", "clip", "epochs_mtl", "san", "readout")
"""The defaults the card names as the MT-DNN paper's (section 4.2)."""
HUB_SPLITS = {"validation_proxy": "train"}  # a dev-proxy is held out of the hub's train split


def scored_rows(results: Path, stage: str, task: str, run: Path) -> pd.DataFrame:
    """The rows of results/<profile>/scores.csv for `task` by `stage`, after checking that they are the scores of
    `run` (its metrics.json's last epoch): a card never shows the numbers of other runs."""
    table = pd.read_csv(results / "scores.csv")
    rows = table[(table.stage == stage) & (table.task == task)]
    if rows.empty:
        raise FileNotFoundError(f"{results / 'scores.csv'}: no {stage} score for {task}; write the results first "
                                f"(python -m mtdnn_lite reproduce --profile {results.name})")
    own = read_json(run / "metrics.json")[-1]["dev"][task]
    for row in rows.itertuples():
        if not math.isclose(own.get(row.split, {}).get(row.metric, math.nan), row.value, abs_tol=1e-9):
            raise ValueError(f"{results / 'scores.csv'}: {task} {row.split} {row.metric} is {row.value}, the run "
                             f"{run} scored {own.get(row.split, {}).get(row.metric)}: the results are not those of "
                             "these runs (write them again with reproduce)")
    return rows


def eval_results(task: str, rows: pd.DataFrame) -> list[EvalResult]:
    """The model-index entries of one task: one per split and metric, its split named as the tables name it."""
    spec, found = get_task(task), []
    for split in reported_splits(rows):
        at = rows[rows.split == split]
        for row in at.itertuples():
            found.append(EvalResult(task_type="text-classification", task_name=f"GLUE {spec.name}",
                                    dataset_type="nyu-mll/glue", dataset_name=f"GLUE {spec.name}",
                                    dataset_config=spec.hub_config, dataset_split=HUB_SPLITS.get(split, split),
                                    metric_type=METRIC_IDS.get(row.metric, row.metric),
                                    metric_name=f"{row.metric} ×100, {split_note(at)}", metric_value=float(row.value)))
    return found


def seed_cells(results: Path, stage: str) -> tuple[dict[str, str], int]:
    """({task: "mean ± sd"} of `stage` over the seeds of seeds.csv, the number of seeds)."""
    if not (results / "seeds.csv").is_file():
        return {}, 0
    table = pd.read_csv(results / "seeds.csv")
    rows = table[table.stage == stage].dropna(subset=["score"])
    cells = {task: f"{g.score.mean():.1f} ± {g.score.std(ddof=1):.1f}" if len(g) > 1 else f"{g.score.iloc[0]:.1f}"
             for task, g in rows.groupby("task")}
    return cells, int(table.seed_index.nunique())


def comparison_section(results: Path, stage: str, tasks: list[str]) -> str:
    """The papers' comparisons that involve `stage`, from comparisons.csv: Δ per task with its interval."""
    path = results / "comparisons.csv"
    names = [c.name for c in COMPARISONS if stage in (c.a, c.b)]
    table = pd.read_csv(path) if path.is_file() else pd.DataFrame(columns=["comparison"])
    table = table[table.comparison.isin(names) & table.task.isin([*tasks, "average"])]
    if table.empty:
        return ""
    shown = pd.DataFrame({"comparison": table.comparison, "task": table.task, "Δ": table.delta.round(1),
                          "95 % interval": [f"[{lo:.1f}, {hi:.1f}]" for lo, hi in zip(table.low, table.high)],
                          "verdict": table.verdict, "seeds": table.seeds})
    return ("## Against the other systems\n\nΔ = A − B in task score ×100 on the same dev (or dev-proxy) examples, "
            "averaged over the seeds, with its 95 % paired bootstrap interval over the examples "
            f"(`{path.name}`); a Δ whose interval contains 0 is no difference.\n\n{markdown_table(shown)}\n")


def recipe_section(profile: Profile) -> str:
    """The profile's settings that differ from the defaults, which are the MT-DNN paper's where it sets them."""
    defaults = {f.name: f.default for f in dataclasses.fields(Profile) if f.default is not dataclasses.MISSING}
    rows = [{"setting": name, "this profile": str(getattr(profile, name)), "default": str(default)}
            for name, default in defaults.items() if name != "tasks" and getattr(profile, name) != default]
    paper = ", ".join(f"{name} {defaults[name]}" for name in PAPER_SETTINGS)
    return (f"## Recipe\n\nProfile `{profile.name}` (`mtdnn_lite/experiments/profiles.py`). The defaults are the "
            f"MT-DNN paper's settings where the paper sets them (section 4.2: {paper}); this profile departs from "
            "them in:\n\n"
            + (markdown_table(pd.DataFrame(rows)) if rows else "nothing: every setting is the default.") + "\n")


def data_rows(task: str, run: Path) -> dict:
    """The training and evaluation data of `task` in `run`, from its data.json: rows used of those available."""
    info = read_json(run / "data.json")[task]
    train = info["train"]
    cell = f"{train['rows_used']:,} of {train['rows']:,}"
    if train.get("partial"):
        cell += f" (a sample of the official {train['official_rows']:,})"
    evals = [f"{split_label(s)}: {i['rows_used']:,} rows" for s, i in info.items() if s != "train"]
    return {"task": task, "training examples used": cell, "evaluated on": "; ".join(evals)}


def cost_section(results: Path) -> str:
    """MT-DNN-KD against its teacher ensemble at inference (inference_cost.json), where it was measured."""
    path = results / "inference_cost.json"
    if not path.is_file():
        return ""
    rows = [{"task": c["task"], "examples": c["examples"], "device": c["device"],
             "this model, examples/s": round(c["student"]["examples_per_second"], 1),
             "ensemble (K models)": c["ensemble"]["models"],
             "ensemble, examples/s": round(c["ensemble"]["examples_per_second"], 1),
             "ensemble ÷ this model, time": f"{c['ensemble_over_student']:.2f}×"}
            for c in json.loads(path.read_text())]
    return ("## Inference cost\n\nThis model against the teacher ensemble it was distilled from, on the same dev "
            f"examples and batch size (`{path.name}`; timings depend on the machine and its load):\n\n"
            + markdown_table(pd.DataFrame(rows)) + "\n")


def below_majority(task: str, run: Path, rows: pd.DataFrame) -> str | None:
    """A sentence where the task's accuracy is below that of always answering its dev split's commonest label."""
    for split in reported_splits(rows):
        accuracy = rows[(rows.split == split) & (rows.metric == "accuracy")].value
        labels = [r["label"] for r in read_predictions(run, task, split)]
        if get_task(task).is_regression or accuracy.empty or not labels:
            continue
        floor = 100 * Counter(labels).most_common(1)[0][1] / len(labels)
        if accuracy.iloc[0] < floor:
            return (f"{task} ({split_label(split)}): accuracy {accuracy.iloc[0]:.1f}, below the {floor:.1f} of always "
                    "answering its commonest label: do not use this model for it")
    return None


def limitations(profile: Profile, scored: dict[str, pd.DataFrame], runs: dict[str, Path]) -> str:
    lines = [f"{task} is scored on a dev-proxy (examples held out of its training data): no labeled dev set was "
             "available, so its score is not comparable with published dev or test-server numbers"
             for task, rows in scored.items() if "dev-proxy" in set(rows.split_label)]
    lines += [line for task in scored if (line := below_majority(task, runs[task], scored[task]))]
    if profile.encoder == "tiny":
        lines.append("the encoder is a tiny randomly initialised BERT (profile for tests): the predictions carry "
                     "no meaning")
    if profile.max_train is not None or profile.max_eval is not None:
        lines.append(f"trained on at most {profile.max_train or 'all'} examples per task (max_train) and scored on at "
                     f"most {profile.max_eval or 'all'} per dev split (max_eval): a small-scale reproduction, below "
                     "the papers' scale and scores")
    return "## Limitations\n\n" + "".join(f"- {line}.\n" for line in lines)


def results_section(profile: Profile, scored: dict[str, pd.DataFrame], runs: dict[str, Path], results: Path,
                    stage: str) -> str:
    """Each task's dev scores, the run stage its model comes from, and its mean ± sd over the seeds."""
    seeds, n_seeds = seed_cells(results, stage)
    rows = []
    for task, table in scored.items():
        cell, score = task_cell(table, task, reported_splits(table))
        rows.append({"task": task, "folder": f"`{task}/`", "from stage": read_json(runs[task] / "config.json")["stage"],
                     "split": split_note(table), "metrics ×100": cell, "score": round(score, 1),
                     f"mean ± sd over {n_seeds} seed(s)": seeds.get(task, "–")})
    return ("## Results\n\nEach task's dev score (dev-proxy where no labeled dev set exists) as "
            f"`results/{profile.name}/scores.csv` has it: the metrics, and the score (their mean) that the GLUE "
            f"average takes.\n\n{markdown_table(pd.DataFrame(rows))}\n")


def summary_section(system: str, stage: str, profile: Profile, runs: dict[str, Path]) -> str:
    """What the export holds and how to use it."""
    first, seed = next(iter(runs)), read_json(next(iter(runs.values())) / "config.json")["seed"]
    what = STAGE_DESCRIPTIONS[stage]
    return (f"# {system}: profile `{profile.name}`, encoder `{profile.encoder}`\n\n{what[0].upper()}{what[1:]}, "
            "trained by mtdnn_lite (a reproduction of MT-DNN, arXiv:1901.11504, and MT-DNN-KD, arXiv:1904.09482). "
            "The results tables score, on each task, the model fine-tuned on it; so this export holds one model per "
            "task, in the folder `<task>/`, with that task's output layer only, exactly as it was scored. Training "
            f"seed {seed}, the reference seed of the results.\n\n```python\nfrom mtdnn_lite import MTDNN, "
            f"predict_texts\n\nmodel = MTDNN.from_pretrained(\"<this folder>/{first}\")\npredict_texts(model, "
            f"\"{first}\", [{example(first)}])\n```\n\nor, from a shell, `python -m mtdnn_lite predict <this folder> "
            f"--task {first} examples.tsv` (a TSV whose header names {', '.join(get_task(first).text_fields)}).\n")


def example(task: str) -> str:
    return "{" + ", ".join(f'"{field}": "…"' for field in get_task(task).text_fields) + "}"


def model_card(profile: Profile, system: str, stage: str, runs: dict[str, Path], results: Path) -> ModelCard:
    """The card of `system` (its name; `stage`, its stage) whose models are those of `runs` ({task: run folder}),
    made from the results folder `results` (``results/<profile>``)."""
    scored = {task: scored_rows(results, read_json(run / "config.json")["stage"], task, run)
              for task, run in runs.items()}
    data = ModelCardData(model_name=f"{system} ({profile.name}, {profile.encoder})", library_name="mtdnn_lite",
                         language="en", datasets=["nyu-mll/glue"], pipeline_tag="text-classification",
                         base_model=hub_name(profile.encoder), tags=["mt-dnn", "glue", "multi-task"],
                         eval_results=[r for task, table in scored.items() for r in eval_results(task, table)])
    data_table = markdown_table(pd.DataFrame([data_rows(task, run) for task, run in runs.items()]))
    sections = [summary_section(system, stage, profile, runs), results_section(profile, scored, runs, results, stage),
                comparison_section(results, stage, list(runs)), recipe_section(profile),
                f"## Training data\n\nFrom each model's run (`data.json`):\n\n{data_table}\n",
                cost_section(results) if stage == "student_refine" else "", limitations(profile, scored, runs)]
    return ModelCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(s for s in sections if s))
