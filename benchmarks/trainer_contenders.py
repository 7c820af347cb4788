"""The contenders of benchmarks/trainer_throughput.py: one epoch of the same MTDNN, trained by each.

`build_model` gives both trainers the same model (`load_encoder(encoder, seed)` with an SST-2 head and a SAN
head for MNLI, identical weights for the same seed). `run_mtdnn_lite` trains it with
`mtdnn_lite.experiments.train.train`; `run_hf` with `transformers.Trainer`, one `Trainer.train()` per task,
with the Trainer's default sampler or its length-grouped one. Each returns the examples, seconds and optimiser
steps of the epoch as its trainer timed them. `warm_up` pays the first-call costs for both before the timing.
Imported by trainer_throughput.py, which puts the repository on sys.path first.
"""

import dataclasses
import tempfile
import time
from pathlib import Path

from torch import nn
from transformers import PrinterCallback, Trainer, TrainingArguments
from transformers.trainer_utils import set_seed

import mtdnn_lite.experiments.train as train_module
from mtdnn_lite.core import trainer
from mtdnn_lite.core.encoder import load_encoder
from mtdnn_lite.core.model import MTDNN
from mtdnn_lite.core.optim import build_optimizer, linear_warmup_decay
from mtdnn_lite.experiments.profiles import Profile
from mtdnn_lite.glue.features import collate

TASKS = ("SST-2", "MNLI")


def build_model(profile: Profile) -> MTDNN:
    """The model both trainers start from: identical weights for the same seed."""
    set_seed(profile.seed)
    return MTDNN(load_encoder(profile.encoder, profile.seed), TASKS, profile.san, profile.readout)


def warm_up(profile: Profile, data: dict, pad_token_id: int) -> None:
    """One untimed forward and backward per task, so that neither contender pays first-call costs alone."""
    model = build_model(profile).train()
    for task, d in data.items():
        batch = collate(task, d.train.select(range(min(profile.batch_size, len(d.train)))).to_list(), pad_token_id)
        model.loss(batch).backward()


# ---- mtdnn_lite ---------------------------------------------------------------------------------

def run_mtdnn_lite(profile: Profile, data: dict, pad_token_id: int, progress: bool) -> dict:
    """One epoch of mtdnn_lite.experiments.train.train_run without evaluation; the throughput its loop timed."""
    if not progress:  # the trainer's tqdm bar, silenced as the HF Trainer's (disable_tqdm=True)
        bar = trainer.tqdm
        trainer.tqdm = lambda *a, **k: bar(*a, **{**k, "disable": True})
    no_eval = {task: dataclasses.replace(d, evals={}) for task, d in data.items()}
    try:
        with tempfile.TemporaryDirectory(prefix="bench_mtdnn_") as tmp:
            start = time.perf_counter()
            history = train_module.train_run(Path(tmp) / "run", {"benchmark": "trainer_throughput"},
                                             lambda: build_model(profile), no_eval, profile, 1, pad_token_id)
            wall = time.perf_counter() - start
    finally:
        if not progress:
            trainer.tqdm = bar
    epoch = history[0]
    return {"examples": epoch["train_examples"], "seconds": epoch["train_seconds"], "steps": epoch["steps"],
            "examples_per_second": epoch["examples_per_second"],
            "steps_per_second": epoch["steps"] / epoch["train_seconds"], "wall_seconds": wall}


# ---- Hugging Face Trainer -----------------------------------------------------------------------

class OneTask(nn.Module):
    """The MTDNN seen as a single-task model, as the HF Trainer wants it: forward(**batch) → loss, logits."""

    def __init__(self, model: MTDNN, task: str):
        super().__init__()
        self.model, self.task = model, task

    def forward(self, input_ids, attention_mask, token_type_ids, labels=None):
        batch = {"task": self.task, "input_ids": input_ids, "attention_mask": attention_mask,
                 "token_type_ids": token_type_ids, "labels": labels}
        logits = self.model(batch)
        loss = self.model.head(self.task).loss(logits, batch) if labels is not None else None
        return {"loss": loss, "logits": logits}


def sampling_args(group_by_length: bool) -> dict:
    """TrainingArguments for the length-grouped sampler, across transformers versions."""
    fields = {f.name for f in dataclasses.fields(TrainingArguments)}
    if "train_sampling_strategy" in fields:  # transformers 5
        return {"train_sampling_strategy": "group_by_length" if group_by_length else "random"}
    return {"group_by_length": group_by_length}


def run_hf(profile: Profile, data: dict, tokenizer, group_by_length: bool) -> dict:
    """SST-2 then MNLI, each in its own Trainer.train(), on one model, optimiser and schedule."""
    model = build_model(profile)
    steps = sum(-(-len(d.train) // profile.batch_size) for d in data.values())  # the batches of one epoch
    optimizer = build_optimizer(model, profile.optimizer, profile.lr, profile.weight_decay)
    scheduler = linear_warmup_decay(optimizer, steps, profile.warmup)
    examples, seconds, per_task = 0, 0.0, {}
    trained_steps = 0
    with tempfile.TemporaryDirectory(prefix="bench_hf_") as tmp:
        start = time.perf_counter()
        for task, d in data.items():
            args = TrainingArguments(
                output_dir=str(Path(tmp) / task), num_train_epochs=1, per_device_train_batch_size=profile.batch_size,
                learning_rate=profile.lr, weight_decay=profile.weight_decay, max_grad_norm=profile.clip,
                seed=profile.seed, eval_strategy="no", save_strategy="no", logging_strategy="no",
                report_to="none", disable_tqdm=True, **sampling_args(group_by_length))
            trainer = Trainer(model=OneTask(model, task), args=args, train_dataset=d.train,
                              processing_class=tokenizer,  # → the default DataCollatorWithPadding(tokenizer)
                              optimizers=(optimizer, scheduler))
            trainer.remove_callback(PrinterCallback)  # it prints the final metrics dict; the numbers are shown below
            metrics = trainer.train().metrics
            examples += len(d.train)
            seconds += metrics["train_runtime"]
            trained_steps += trainer.state.global_step
            per_task[task] = {"examples": len(d.train), "seconds": metrics["train_runtime"],
                              "examples_per_second": metrics["train_samples_per_second"]}
        wall = time.perf_counter() - start
    return {"examples": examples, "seconds": seconds, "steps": trained_steps, "examples_per_second": examples / seconds,
            "steps_per_second": trained_steps / seconds, "wall_seconds": wall, "per_task": per_task}
