"""What the score tables of notebooks 03 and 06 say, in words and flags, each computed from the table shown.

- `floor_table`: every system's task scores set against the task's majority-class floor (reporting.floors),
  with a mark where a score is below the floor or within two standard errors of it, and the sentence saying so;
- `averages_sentence`: each system's GLUE-style average with and without WNLI;
- `published_gain_sentence`: where one published model beats another most, from the checked list;
- `training_settings`: the optimiser settings a profile trains every stage with, beside the paper's.
"""

import pandas as pd

from ..experiments.profiles import Profile
from ..glue.data import OFFICIAL_ROWS
from ..glue.metrics import task_score
from ..glue.tasks import AX, GLUE_TASKS
from ..reporting.floors import BELOW, NEAR, floor_flags, floor_note
from ..reporting.published import published_task_metrics

MARKS = {BELOW: " ▼", NEAR: " ≈"}
"""How `floor_table` marks a score below its floor (▼) or within 2 se of it (≈)."""


def floor_table(scores: pd.DataFrame, floors: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """(task × system table of scores, each marked with `MARKS` and beside the task's split, floor and margin;
    `floors.floor_note` of it). `scores`: `scoreboard.stage_scores`; `floors`: `floors.dev_floors`."""
    flags = floor_flags(scores, floors)
    flags["cell"] = [f"{s:.1f}{MARKS.get(v, '')}" for s, v in zip(flags.score, flags["vs floor"])]
    wide = flags.pivot(index="task", columns="system", values="cell")[list(dict.fromkeys(flags.system))]
    wide = wide.loc[[t for t in GLUE_TASKS if t in wide.index]].fillna("–")
    front = floors.loc[wide.index, ["split", "rows", "floor", "margin"]].round(1)
    front["margin"] = "±" + front.margin.astype(str)
    return pd.concat([front, wide], axis=1), floor_note(flags)


def averages_sentence(means: pd.DataFrame, leave_out: str = "WNLI") -> str:
    """Markdown, one line per system of `scoreboard.averages`: its average over its tasks and without `leave_out`."""
    column = f"average without {leave_out}"
    lines = []
    for row in means.to_dict("records"):
        rest = (f"; without {leave_out} {row[column]:.1f} ({row[column] - row['average']:+.1f})"
                if row[column] == row[column] and row["tasks"] > 1 and row[column] != row["average"] else "")
        lines.append(f"- {row['system']}: {row['average']:.1f} over {row['tasks']} task(s){rest}")
    return "\n".join(lines)


def published_gain_sentence(model: str = "MT-DNN", baseline: str = "BERT-large") -> str:
    """Markdown: `model` − `baseline` per GLUE task on the published test-server numbers (task scores: metrics
    averaged), largest first, each with the task's official training rows (does the gain follow the size?)."""
    a, b = published_task_metrics(model), published_task_metrics(baseline)
    gains = pd.Series({t: task_score(a[t]) - task_score(b[t]) for t in GLUE_TASKS if t in a and t in b and t != AX.name})
    gains = gains.sort_values(ascending=False)
    return (f"Published test-server task scores, {model} − {baseline}, largest first: "
            + ", ".join(f"{t} {g:+.1f} ({OFFICIAL_ROWS[t]['train']:,} training rows)" for t, g in gains.items()) + ".")


def training_settings(profile: Profile) -> str:
    """Markdown: the optimiser, learning rates, warm-up, clipping, weight decay and precision of `profile`'s
    training stages, each beside the paper's value (the Profile field defaults) where they differ."""
    paper = Profile("paper")
    settings = [("optimizer", "the optimiser {}", str), ("lr", "peak learning rate {}", "{:g}".format),
                ("warmup", "linear warm-up over the first {} of the steps, then linear decay to 0",
                 lambda v: f"{100 * v:g} %"),
                ("clip", "gradient clipping at norm {}", "{:g}".format),
                ("weight_decay", "weight decay {}", "{:g}".format),
                ("mixed_precision", "{}", lambda v: "fp32 throughout" if v == "no" else f"{v} autocast")]
    parts = []
    for field, words, show in settings:
        mine, theirs = getattr(profile, field), getattr(paper, field)
        parts.append(words.format(show(mine)) + (f" (the paper: {show(theirs)})" if mine != theirs else ""))
        if field == "lr" and profile.lr_mtl is not None:
            parts[-1] += f" ({profile.lr_mtl:g} in the multi-task stages)"
    return f"Every stage of the `{profile.name}` profile trains with " + ", ".join(parts) + \
        ", and each head's task-specific dropout."
