"""The pretrained folder: one MT-DNN model with everything needed to use it outside the kit.

    <folder>/config.json          written last: the format and its version, the kit's version, the encoder's
                                  config, every task head (kind, sizes, label names), readout, SAN flag,
                                  max_length, and the size of every other file of the folder
    <folder>/model.safetensors    all weights
    <folder>/tokenizer*.json      the encoder's tokenizer (tokenizer.save_pretrained)
    <folder>/README.md            a model card (huggingface_hub's ModelCard)

`Pretrained` gives MTDNN huggingface_hub's `save_pretrained` and `push_to_hub` (PyTorchModelHubMixin) and a
`from_pretrained` that reads a local folder or, for a hub repo id, the folder `snapshot_download` fetches.
Loading needs the folder alone. A folder of another format version, or one missing or truncating a file, is
refused with one line naming the file or field and what was expected.
"""

import json
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from huggingface_hub import PyTorchModelHubMixin, snapshot_download
from huggingface_hub.errors import HfHubHTTPError, HFValidationError, LocalEntryNotFoundError
from safetensors.torch import load_model, save_model
from transformers import AutoTokenizer

from ..glue.tasks import TASKS, get_task
from .encoder import encoder_from_config

FORMAT, FORMAT_VERSION = "mtdnn_lite", 1
"""What config.json's "format" and "format_version" must say for this kit to read a folder."""
CONFIG, WEIGHTS = "config.json", "model.safetensors"
FIELDS = ("format", "format_version", "mtdnn_lite_version", "encoder_config", "heads", "san", "readout",
          "max_length", "files")

CARD = """---
{{ card_data }}
---

# {{ name }}

An MT-DNN model (Liu et al. 2019, arXiv:1901.11504) saved by mtdnn_lite {{ kit_version }}: a shared encoder
and one output layer per task ({{ heads }}).

```python
from mtdnn_lite import MTDNN, predict_texts
model = MTDNN.from_pretrained("path/to/this/folder")
predict_texts(model, "{{ task }}", [{{ example }}])
```
"""
"""The card save_pretrained writes where a folder has none (an export writes its own, with the results)."""


def package_version() -> str:
    try:
        return version("mtdnn_lite")
    except PackageNotFoundError:  # run from a source checkout that pip has not installed
        return "unknown"


def head_entry(task: str, head) -> dict:
    """A head as config.json records it: its kind, sizes and label names (those of the task registry)."""
    spec = get_task(task)
    return {"task": spec.name, "kind": type(head).__name__, "num_labels": spec.num_labels,
            "label_names": list(spec.label_names)}


def write_folder(model, directory: Path) -> None:
    """Write `model` (an MTDNN with its tokenizer and max_length) as a pretrained folder; config.json last, so a
    folder whose writing stopped has none and is refused."""
    if model.tokenizer is None or model.max_length is None:
        raise ValueError("save_pretrained needs the model's tokenizer and max_length (MTDNN(..., tokenizer=, "
                         "max_length=)): the folder must encode texts as the model was trained on them")
    directory = Path(directory)
    (directory / CONFIG).unlink(missing_ok=True)
    names = [Path(p).name for p in model.tokenizer.save_pretrained(str(directory))]
    save_model(model, str(directory / f"{WEIGHTS}.tmp"))  # drops duplicates of shared (tied) tensors
    (directory / f"{WEIGHTS}.tmp").chmod((directory / names[0]).stat().st_mode)  # safetensors writes it 0600
    (directory / f"{WEIGHTS}.tmp").replace(directory / WEIGHTS)
    config = {"format": FORMAT, "format_version": FORMAT_VERSION, "mtdnn_lite_version": package_version(),
              "encoder_config": model.encoder.config.to_dict(),
              "heads": [head_entry(task, model.heads[task]) for task in model.tasks],
              "san": model.san, "readout": model.readout, "max_length": model.max_length,
              "files": {name: (directory / name).stat().st_size for name in [WEIGHTS, *names]}}
    (directory / f"{CONFIG}.tmp").write_text(json.dumps(config, indent=2))
    (directory / f"{CONFIG}.tmp").replace(directory / CONFIG)


def read_config(directory: Path) -> dict:
    """config.json of a pretrained folder, checked: its format and version, its fields, and every file it
    lists present with the size it records."""
    path = directory / CONFIG
    if not path.is_file():
        raise FileNotFoundError(f"{directory}: no {CONFIG}; expected a folder written by MTDNN.save_pretrained "
                                f"(an export holds one per task: {directory}/<task>/{CONFIG})")
    try:
        config = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: not valid JSON ({e}); the folder is incomplete, save it again") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ValueError(f"{path}: field 'format' is {config.get('format') if isinstance(config, dict) else None!r}"
                         f", expected {FORMAT!r}: not a folder written by MTDNN.save_pretrained")
    if config.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path}: field 'format_version' is {config.get('format_version')!r} (written by "
                         f"mtdnn_lite {config.get('mtdnn_lite_version')}), this mtdnn_lite ({package_version()}) "
                         f"reads format_version {FORMAT_VERSION}")
    missing = [field for field in FIELDS if field not in config]
    if missing:
        raise ValueError(f"{path}: missing field(s) {', '.join(missing)}; expected {', '.join(FIELDS)}")
    unknown = [head for head in config["heads"] if not isinstance(head, dict) or head.get("task") not in TASKS]
    if unknown or not config["heads"]:
        raise ValueError(f"{path}: field 'heads' has {unknown or 'none'}; expected one entry per task head, each "
                         f"naming a GLUE task ({', '.join(TASKS)})")
    for name, size in config["files"].items():
        found = (directory / name).stat().st_size if (directory / name).is_file() else None
        if found != size:
            raise ValueError(f"{directory / name}: {'missing' if found is None else f'{found:,} bytes'}, expected "
                             f"{size:,} bytes as {CONFIG} records: the folder is incomplete, save it again")
    return config


def read_folder(cls, directory: Path):
    """The `cls` (MTDNN) model a pretrained folder holds, in eval mode, with its tokenizer and max_length."""
    config = read_config(Path(directory))
    tasks = [head["task"] for head in config["heads"]]
    model = cls(encoder_from_config(config["encoder_config"]), tasks, config["san"], config["readout"],
                tokenizer=AutoTokenizer.from_pretrained(str(directory)), max_length=config["max_length"])
    for head in config["heads"]:
        built = head_entry(head["task"], model.heads[head["task"]])
        if built != head:
            raise ValueError(f"{Path(directory) / CONFIG}: field 'heads' has {head}, this mtdnn_lite builds "
                             f"{built} for it")
    try:
        load_model(model, str(Path(directory) / WEIGHTS))
    except (RuntimeError, OSError) as e:  # safetensors: a weight missing, unexpected or of another shape
        raise ValueError(f"{Path(directory) / WEIGHTS}: does not fit {CONFIG} ({' '.join(str(e).split())[:300]})") \
            from None
    return model.eval()


def local_folder(name: str | Path, **hub) -> Path:
    """`name` itself if it is a folder, else the hub repo `name` fetched by huggingface_hub's snapshot_download
    (`hub`: revision, cache_dir, force_download, token, local_files_only)."""
    if Path(name).is_dir():
        return Path(name)
    try:
        return Path(snapshot_download(str(name), **hub))
    except (HFValidationError, HfHubHTTPError, LocalEntryNotFoundError, OSError) as e:
        raise FileNotFoundError(f"{name}: no such folder, and no model of that name on the Hugging Face hub "
                                f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from None


class Pretrained(PyTorchModelHubMixin, library_name="mtdnn_lite", tags=["mt-dnn", "glue", "multi-task"],
                 model_card_template=CARD):
    """huggingface_hub's save_pretrained and push_to_hub for an MTDNN, in the folder format above, and
    from_pretrained of a folder or a hub repo id."""

    def _save_pretrained(self, save_directory: Path) -> None:
        write_folder(self, save_directory)

    def generate_model_card(self, *args, **kwargs):
        spec = get_task(self.tasks[0])
        example = ", ".join(f'"{field}": "…"' for field in spec.text_fields)
        return super().generate_model_card(name=f"MT-DNN for {', '.join(self.tasks)}", kit_version=package_version(),
                                           heads=", ".join(f"{t}: {type(self.heads[t]).__name__}" for t in self.tasks),
                                           task=spec.name, example="{" + example + "}", **kwargs)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | Path, *, force_download: bool = False,
                        token: str | bool | None = None, cache_dir: str | Path | None = None,
                        local_files_only: bool = False, revision: str | None = None):
        """The model of a folder written by save_pretrained, or of a hub repo id holding one (fetched by
        snapshot_download with these arguments), in eval mode with its tokenizer and max_length."""
        folder = local_folder(pretrained_model_name_or_path, force_download=force_download, token=token,
                              cache_dir=cache_dir, local_files_only=local_files_only, revision=revision)
        return read_folder(cls, folder)
