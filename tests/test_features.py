"""encode tokenises hub-shaped GLUE splits; collate pads them into the batch dict the heads read."""

import datasets
import pytest
import torch

from mtdnn_lite.core.encoder import load_tokenizer
from mtdnn_lite.glue.features import collate, encode, question_groups

BATCH_KEYS = {"task", "input_ids", "attention_mask", "token_type_ids", "labels", "idx"}


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("tiny")


def split(**columns) -> datasets.Dataset:
    """A hand-made split with the hub's columns; idx counts the rows."""
    rows = len(next(iter(columns.values())))
    return datasets.Dataset.from_dict({**columns, "idx": list(range(rows))})


def test_single_sentence(tokenizer):
    encoded = encode("CoLA", split(sentence=["the cat sat .", "sat cat the"], label=[1, 0]), tokenizer)
    assert set(encoded.column_names) == {"input_ids", "token_type_ids", "attention_mask", "labels", "idx", "length"}
    first = encoded[0]
    assert tokenizer.convert_ids_to_tokens(first["input_ids"]) == ["[CLS]", "the", "cat", "sat", ".", "[SEP]"]
    assert first["token_type_ids"] == [0] * 6 and first["attention_mask"] == [1] * 6
    assert first["length"] == 6 and encoded["labels"][:] == [1, 0] and encoded["idx"][:] == [0, 1]


def test_pair_segments(tokenizer):
    encoded = encode("MRPC", split(sentence1=["a b"], sentence2=["c d e"], label=[1]), tokenizer)
    tokens = tokenizer.convert_ids_to_tokens(encoded[0]["input_ids"])
    assert tokens == ["[CLS]", "a", "b", "[SEP]", "c", "d", "e", "[SEP]"]
    assert encoded[0]["token_type_ids"] == [0, 0, 0, 0, 1, 1, 1, 1]


def test_truncation_takes_from_the_longer_sentence(tokenizer):
    encoded = encode("RTE", split(sentence1=["a b c d e f g h"], sentence2=["x y"], label=[0]), tokenizer,
                     max_length=8)
    tokens = tokenizer.convert_ids_to_tokens(encoded[0]["input_ids"])
    assert tokens == ["[CLS]", "a", "b", "c", "[SEP]", "x", "y", "[SEP]"] and encoded[0]["length"] == 8


def test_missing_columns_are_named(tokenizer):
    with pytest.raises(ValueError, match="MRPC.*missing sentence2, label"):
        encode("MRPC", split(sentence1=["a"]), tokenizer)


def test_question_groups_follow_first_appearance():
    assert question_groups(["b", "a", "b", "c", "a"]) == [0, 1, 0, 2, 1]


def test_qnli_rows_of_one_question_share_a_group(tokenizer):
    questions = ["who ?", "what ?", "who ?", "when ?", "what ?"]
    data = split(question=questions, sentence=["s1", "s2", "s3", "s4", "s5"], label=[0, 1, 1, 0, 1])
    assert encode("QNLI", data, tokenizer)["group"][:] == [0, 1, 0, 2, 1]
    shuffled = encode("QNLI", data.select([4, 3, 2, 1, 0]), tokenizer)  # an index mapping, as after shuffle()
    assert shuffled["group"][:] == [0, 1, 2, 0, 2] and shuffled["idx"][:] == [4, 3, 2, 1, 0]


def test_collate_pads_to_the_longest(tokenizer):
    encoded = encode("MRPC", split(sentence1=["a", "a b c"], sentence2=["b", "d e f"], label=[0, 1]), tokenizer)
    batch = collate("MRPC", list(encoded), pad_token_id=tokenizer.pad_token_id)
    assert set(batch) == BATCH_KEYS and batch["task"] == "MRPC"
    for key in ("input_ids", "attention_mask", "token_type_ids"):
        assert batch[key].shape == (2, 9)  # [CLS] a b c [SEP] d e f [SEP] and batch[key].dtype == torch.long
    short = encoded[0]["input_ids"]  # [CLS] a [SEP] b [SEP]
    assert batch["input_ids"][0].tolist() == short + [tokenizer.pad_token_id] * 4
    assert batch["attention_mask"][0].tolist() == [1] * 5 + [0] * 4
    assert batch["token_type_ids"][0].tolist() == [0, 0, 0, 1, 1, 0, 0, 0, 0]
    assert batch["labels"].tolist() == [0, 1] and batch["labels"].dtype == torch.long
    assert batch["idx"].tolist() == [0, 1] and batch["idx"].dtype == torch.long


def test_collate_stsb_labels_are_float(tokenizer):
    encoded = encode("STS-B", split(sentence1=["a", "b"], sentence2=["c", "d"], label=[3.8, 0.4]), tokenizer)
    batch = collate("STS-B", list(encoded), pad_token_id=tokenizer.pad_token_id)
    assert batch["labels"].dtype == torch.float and batch["labels"].tolist() == pytest.approx([3.8, 0.4])


def test_collate_qnli_keeps_groups_and_reads_torch_format(tokenizer):
    data = split(question=["q ?", "q ?", "r ?"], sentence=["a", "b c", "d"], label=[0, 1, 0])
    encoded = encode("qnli", data, tokenizer).with_format("torch")
    batch = collate("qnli", list(encoded), pad_token_id=tokenizer.pad_token_id)
    assert set(batch) == BATCH_KEYS | {"group"} and batch["task"] == "QNLI"
    assert batch["group"].tolist() == [0, 0, 1] and batch["group"].dtype == torch.long


def test_collate_refuses_an_empty_batch():
    with pytest.raises(ValueError, match="SST-2.*at least one example"):
        collate("SST-2", [], pad_token_id=0)
