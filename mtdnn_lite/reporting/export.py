"""A system's final models out of the kit, and predictions with them.

`export_system` writes, from a profile's finished runs and results folder:

    <out>/README.md     the model card (model_card.py): results, seeds, intervals, recipe, data, cost, limitations
    <out>/<task>/       one pretrained folder per task (core/pretrained.py): MTDNN.from_pretrained("<out>/<task>")

Each task's folder holds the model the results tables score on that task (models.final_run), with that task's
output layer only. MT-DNN and MT-DNN-KD are refined per task (stages refine and student_refine: the multi-task
model fine-tuned once more on each task, a model per task), and the single-task baseline is a model per task, so an
export holds one model per task, each of one encoder's size; a teacher ensemble would run K of them. Where MT-DNN-KD
was not refined (epochs_student_refine = 0), every folder holds the multi-task student, with its task's layer.

`predict_file` runs an exported model (or any pretrained folder, or hub repo id) on a TSV or JSONL file of
examples (glue/inputs.py) and yields one JSON line per example.
"""

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

from ..core.encoder import load_tokenizer
from ..core.inference import predict_texts
from ..core.model import MTDNN
from ..core.pretrained import CONFIG, FORMAT
from ..experiments.profiles import Profile
from ..experiments.runs import read_json
from ..glue.inputs import read_examples
from ..glue.tasks import get_task
from .model_card import model_card
from .models import final_run, model_dir
from .systems import STAGE_SYSTEMS

SYSTEMS = {"mt-dnn-kd": "student_refine", "mt-dnn": "refine", "single-task": "st"}
"""The systems an export can hold (command-line name: the stage whose runs give it, systems.STAGE_SYSTEMS)."""
CARD = "README.md"


def system_runs(root, profile: Profile, system: str) -> dict[str, Path]:
    """{task: the finished run of `system`'s final model for it} over the profile's tasks (models.final_run)."""
    if system not in SYSTEMS:
        raise ValueError(f"unknown system {system!r}; expected one of {', '.join(SYSTEMS)}")
    found = {task: final_run(Path(root) / profile.name, SYSTEMS[system], task) for task in profile.tasks}
    missing = [task for task, run in found.items() if run is None]
    if missing:
        raise FileNotFoundError(f"no finished {system} run for {', '.join(missing)} under {Path(root) / profile.name}: "
                                f"train them first (python -m mtdnn_lite reproduce --profile {profile.name})")
    return found


def is_export(path: Path) -> bool:
    """Whether `path` holds an export and nothing else: a card and pretrained folders."""
    def pretrained(folder: Path) -> bool:
        try:
            return json.loads((folder / CONFIG).read_text()).get("format") == FORMAT
        except (OSError, ValueError):
            return False
    return all(p.name == CARD or (p.is_dir() and pretrained(p)) for p in path.iterdir())


def export_system(profile: Profile, system: str, runs, results, out) -> Path:
    """Write `system`'s final models of `profile` (runs under `runs`) to `out`, one pretrained folder per task, and
    the model card made from the tables under `results` (None: no card, the models alone); `out` must be new,
    empty or an earlier export, which is replaced only once the new one is complete."""
    out = Path(out)
    if out.exists() and not (out.is_dir() and is_export(out)):
        raise ValueError(f"{out}: exists and is not an export; name a new folder")
    found, stage = system_runs(runs, profile, system), SYSTEMS[system]
    name = next(s.name for s in STAGE_SYSTEMS if s.stage == stage)
    card = model_card(profile, name, stage, found, Path(results) / profile.name) if results is not None else None
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    for task, run in found.items():
        config = read_json(run / "config.json")
        model = MTDNN.load(model_dir(run)).with_heads([task])
        model.tokenizer, model.max_length = load_tokenizer(config["encoder"]), config["max_length"]
        model.save_pretrained(partial / task)
    if card is not None:
        card.save(partial / CARD)
    if out.exists():
        shutil.rmtree(out)
    partial.replace(out)
    return out


def exported_folder(model: str | Path, task: str) -> str | Path:
    """The pretrained folder to load for `task`: ``<model>/<task>`` in an export, else `model` itself (a
    pretrained folder or a hub repo id)."""
    folder, task = Path(model), get_task(task).name
    if not folder.is_dir() or (folder / CONFIG).is_file():
        return model
    if not (folder / task).is_dir():
        held = sorted(p.name for p in folder.iterdir() if (p / CONFIG).is_file())
        raise FileNotFoundError(f"{folder}: no model for {task} (expected {folder / task}/ in an export"
                                + (f"; this one holds {', '.join(held)})" if held else f", or {folder / CONFIG})"))
    return folder / task


def predict_file(model: str | Path, task: str, source: str | Path, batch_size: int = 64,
                 precision: str = "auto") -> Iterator[str]:
    """One JSON line per example of `source` (a TSV or JSONL file, "-" for standard input): {"label",
    "probabilities"} or {"score"} (STS-B), by `model` (an export, a pretrained folder or a hub repo id)."""
    spec = get_task(task)
    examples = read_examples(source, spec.name)  # bad input is refused before the model loads
    loaded = MTDNN.from_pretrained(exported_folder(model, spec.name))
    for answer in predict_texts(loaded, spec.name, examples, batch_size, precision, progress=True):
        yield json.dumps(answer)
