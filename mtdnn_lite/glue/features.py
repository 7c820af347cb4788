"""From a GLUE split to model inputs: tokenise once (`encode`), then pad each batch to its longest example (`collate`).

The lexicon encoder (MT-DNN, section 3) reads one token sequence per example. A sentence pair becomes
``[CLS] first [SEP] second [SEP]``, with token_type_ids (segment ids) 0 for ``[CLS] first [SEP]`` and 1 for
``second [SEP]``. Pairs longer than `max_length` are truncated "longest_first": one token at a time is taken from
whichever sentence is longer.

Padding waits for the batch ("dynamic padding"): a batch of short sentences stays short, so the sampler can gain
by grouping examples of similar "length". Use `collate` as a DataLoader's collate_fn::

    DataLoader(encoded, batch_size=32, collate_fn=partial(collate, "MRPC", pad_token_id=tokenizer.pad_token_id))

QNLI is trained as ranking (MT-DNN, section 3): the candidate sentences of one question compete in one softmax,
so each example carries a "group" id shared by the rows with the same question.
"""

import datasets
import torch
from transformers import PreTrainedTokenizerBase

from .tasks import TaskType, get_task


def question_groups(questions) -> list[int]:
    """One id per question text, in order of first appearance: ["a", "b", "a"] → [0, 1, 0]."""
    ids: dict[str, int] = {}
    return [ids.setdefault(question, len(ids)) for question in questions]


def encode(task: str, dataset: datasets.Dataset, tokenizer: PreTrainedTokenizerBase,
           max_length: int = 128) -> datasets.Dataset:
    """Tokenise a GLUE split with the hub's columns (task.text_fields, "label", "idx").

    Returns the columns input_ids, token_type_ids, attention_mask (unpadded), labels, idx, length (the number
    of tokens) and, for QNLI, group.
    """
    spec = get_task(task)
    missing = [c for c in (*spec.text_fields, "label", "idx") if c not in dataset.column_names]
    if missing:
        raise ValueError(f"{spec.name}: expected columns {', '.join((*spec.text_fields, 'label', 'idx'))}, "
                         f"missing {', '.join(missing)} (the dataset has {', '.join(dataset.column_names)})")

    def tokenize(batch: dict[str, list]) -> dict[str, list]:
        encoded = tokenizer(*(batch[field] for field in spec.text_fields), truncation="longest_first",
                            max_length=max_length, return_token_type_ids=True, return_attention_mask=True)
        return {**encoded, "labels": batch["label"], "length": [len(ids) for ids in encoded["input_ids"]]}

    if spec.type is TaskType.RANKING:
        questions = dataset[spec.text_fields[0]][:]  # the column as a list
        dataset = dataset.add_column("group", question_groups(questions))
    kept = ("idx", "group")
    return dataset.map(tokenize, batched=True, remove_columns=[c for c in dataset.column_names if c not in kept])


def pad(features: list[dict], key: str, value: int) -> torch.Tensor:
    """The sequences features[i][key] as one Long[B, T] tensor, T the longest, filled to the right with `value`."""
    width = max(len(f[key]) for f in features)
    padded = torch.full((len(features), width), value, dtype=torch.long)
    for row, f in zip(padded, features):
        row[:len(f[key])] = torch.as_tensor(f[key])
    return padded


def collate(task: str, features: list[dict], pad_token_id: int) -> dict:
    """A batch of encoded examples of one task, padded to the longest.

    Returns {"task": the GLUE name, "input_ids", "attention_mask", "token_type_ids": Long[B, T], "labels": Long[B]
    (Float[B] for STS-B), "idx": Long[B]}, plus "group": Long[B] for QNLI and "soft_targets": Float[B, C] where the
    examples carry a teacher's soft targets (see kd.py). Padding positions hold pad_token_id in input_ids and 0 in
    attention_mask and token_type_ids.
    """
    spec = get_task(task)
    if not features:
        raise ValueError(f"{spec.name}: expected at least one example to collate, got none")
    batch = {
        "task": spec.name,
        "input_ids": pad(features, "input_ids", pad_token_id),
        "attention_mask": pad(features, "attention_mask", 0),
        "token_type_ids": pad(features, "token_type_ids", 0),
        "labels": torch.tensor([f["labels"] for f in features],
                               dtype=torch.float if spec.is_regression else torch.long),
        "idx": torch.tensor([f["idx"] for f in features], dtype=torch.long),
    }
    if spec.type is TaskType.RANKING:
        batch["group"] = torch.tensor([f["group"] for f in features], dtype=torch.long)
    if "soft_targets" in features[0]:
        batch["soft_targets"] = torch.tensor([f["soft_targets"] for f in features], dtype=torch.float)
    return batch
