"""The model taken apart on real examples (notebook 02): encoder settings, the lexicon encoder's three
embeddings, the shapes of the tensors from tokens to each head's output, parameter counts, SAN's steps, and
the sentences that say what they show (`readout_sentence`, `san_steps_sentence`).

Everything here runs the model in eval mode without gradients and leaves its mode as it found it.
"""

import warnings
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import torch
from torch import Tensor, nn
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from ..core.heads import readout
from ..core.model import MTDNN
from ..glue.data import eval_splits, load_glue, split_label
from ..glue.features import collate, encode
from ..glue.tasks import AX, get_task


@contextmanager
def evaluating(model: nn.Module):
    """Eval mode and no gradients inside the block; the model's own mode restored after it."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        model.train(was_training)


def real_batch(task: str, tokenizer: PreTrainedTokenizerBase, glue_dir: str | Path | None = None, n: int = 4,
               split: str | None = None, max_length: int = 128) -> tuple[pd.DataFrame, dict]:
    """The first `n` examples of `split` (default: the task's first labeled evaluation split, AX: test) as
    a table (split, idx, texts, label, label name) and as a batch: features.collate(task, features.encode(…))."""
    t = get_task(task)
    with warnings.catch_warnings():  # partial splits, malformed rows: notebook 01 and load_glue report them
        warnings.simplefilter("ignore", UserWarning)
        dsd = load_glue(task, glue_dir)
    split = split or ("test" if t is AX else eval_splits(dsd)[0])
    rows = dsd[split].select(range(min(n, len(dsd[split]))))
    batch = collate(task, list(encode(task, rows, tokenizer, max_length)), tokenizer.pad_token_id)
    table = rows.to_pandas()
    table.insert(0, "split", split_label(split))
    if not t.is_regression:
        table["label name"] = [t.label_names[y] if y >= 0 else "(unlabeled)" for y in table.label]
    return table, batch


def encoder_table(encoder: PreTrainedModel) -> pd.DataFrame:
    """The shared encoder's settings: architecture, vocabulary, H, L, A, feed-forward size, positions, parameters."""
    c = encoder.config
    rows = {"architecture": type(encoder).__name__,
            "vocabulary (WordPiece tokens)": c.vocab_size,
            "hidden size H": c.hidden_size,
            "Transformer layers L": c.num_hidden_layers,
            "attention heads A": c.num_attention_heads,
            "feed-forward size": c.intermediate_size,
            "positions (longest input)": c.max_position_embeddings,
            "segments (token types)": getattr(c, "type_vocab_size", None),
            "parameters": sum(p.numel() for p in encoder.parameters())}
    return pd.DataFrame({"value": rows})


def token_table(batch: dict, tokenizer: PreTrainedTokenizerBase, row: int = 0) -> pd.DataFrame:
    """Example `row` of a batch, token by token: position, token, input id, segment id, attention mask."""
    ids = batch["input_ids"][row]
    return pd.DataFrame({"token": tokenizer.convert_ids_to_tokens(ids.tolist()), "input id": ids.tolist(),
                         "segment (token_type_id)": batch["token_type_ids"][row].tolist(),
                         "attention mask": batch["attention_mask"][row].tolist()}).rename_axis("position")


def lexicon_parts(encoder: PreTrainedModel, batch: dict) -> dict[str, Tensor]:
    """The lexicon encoder l1 on a batch, term by term (BERT-style embeddings): "word", "segment",
    "position" embeddings, their "sum", and "l1" = LayerNorm(sum), which is what the encoder's own
    embedding layer returns in eval mode (also returned, as "embeddings")."""
    e = encoder.embeddings
    T = batch["input_ids"].shape[1]
    with evaluating(encoder):
        parts = {"word": e.word_embeddings(batch["input_ids"]),
                 "segment": e.token_type_embeddings(batch["token_type_ids"]),
                 "position": e.position_embeddings(torch.arange(T).unsqueeze(0))}
        parts["sum"] = parts["word"] + parts["segment"] + parts["position"]
        parts["l1"] = e.LayerNorm(parts["sum"])
        parts["embeddings"] = e(input_ids=batch["input_ids"], token_type_ids=batch["token_type_ids"])
    return parts


READOUT_WORDS = {
    "cls": ("x = l2[:, 0]", "the contextual embedding of the [CLS] token", r"\mathbf{x} = \mathbf{C}[:, 0]"),
    "mean": ("x = mean of l2 over the real tokens", "the mean of the real tokens' contextual embeddings",
             r"\mathbf{x} = \sum_t m_t\, \mathbf{C}[:, t] \,/\, \sum_t m_t"),
}
"""How each `heads.readout` kind is named in a table, said, and written as an equation (m: the attention mask)."""


def readout_sentence(kind: str, whose: str) -> str:
    """Markdown: what x is for readout `kind` in `whose` model or profile, set against the paper's [CLS]."""
    _, words, equation = READOUT_WORDS[kind]
    paper = "as in the paper" if kind == "cls" else f"where the paper reads {READOUT_WORDS['cls'][1]}"
    return f"In {whose}, $\\mathbf{{x}}$ is {words}, ${equation}$ (`readout=\"{kind}\"`), {paper}."


def _shape(t: Tensor) -> str:
    return "[" + ", ".join(str(d) for d in t.shape) + "]"


def shape_table(model: MTDNN, batch: dict) -> pd.DataFrame:
    """The tensors from a batch's tokens to its task head's output, with their shapes and what they hold."""
    B, T = batch["input_ids"].shape
    rows = [(name, batch[name], what) for name, what in (
        ("input_ids", "WordPiece ids, [CLS] a [SEP] b [SEP], padded to the longest in the batch"),
        ("token_type_ids", "segment ids: 0 for [CLS] a [SEP], 1 for b [SEP]"),
        ("attention_mask", "1 for tokens, 0 for padding"))]
    parts = lexicon_parts(model.encoder, batch)
    rows += [("word embeddings", parts["word"], "one vector per token id"),
             ("segment embeddings", parts["segment"], "one vector per segment id"),
             ("position embeddings", parts["position"], "one vector per position, broadcast over the batch"),
             ("l1: lexicon encoder output", parts["l1"], "LayerNorm(word + segment + position)")]
    with evaluating(model):
        out = model.encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                            token_type_ids=batch["token_type_ids"], output_hidden_states=True)
        for layer, hidden in enumerate(out.hidden_states[1:], 1):
            rows.append((f"Transformer layer {layer} output", hidden, "contextual embeddings"))
        rows[-1] = (rows[-1][0] + " = l2", rows[-1][1], "the shared representation every head reads")
        hidden = out.last_hidden_state
        name, words, _ = READOUT_WORDS[model.readout]
        rows.append((name, readout(hidden, batch["attention_mask"], model.readout),
                     f"{words}: what the non-SAN heads read"))
        head = model.head(batch["task"])
        output = head(hidden, batch["attention_mask"], batch["token_type_ids"])
        rows.append((f"{batch['task']} head output", output, type(head).__name__))
        rows.append((f"{batch['task']} probabilities", head.probabilities(output), "what a prediction is read from"))
    table = pd.DataFrame([(name, _shape(t), what) for name, t, what in rows], columns=["tensor", "shape", "holds"])
    table.attrs["B"], table.attrs["T"] = B, T
    return table


def head_table(model: MTDNN, batches: dict[str, dict]) -> pd.DataFrame:
    """One row per task of `batches` ({task: batch}): type, head, raw output and probabilities shapes, parameters."""
    rows = []
    with evaluating(model):
        for task, batch in batches.items():
            head = model.head(task)
            output = model(batch)
            rows.append({"task": get_task(task).name, "type": get_task(task).type.value,
                         "head": type(head).__name__, "batch [B, T]": _shape(batch["input_ids"]),
                         "output shape": _shape(output), "probabilities shape": _shape(head.probabilities(output)),
                         "head parameters": sum(p.numel() for p in head.parameters())})
    return pd.DataFrame(rows).set_index("task")


def parameter_table(model: MTDNN) -> pd.DataFrame:
    """MTDNN.parameter_counts as a table: part, shared or task-specific, parameters, share of the model (%)."""
    counts = model.parameter_counts()
    total = sum(counts.values())
    return pd.DataFrame([{"part": name, "kind": "shared" if name == "shared" else "task-specific",
                          "head": "" if name == "shared" else type(model.heads[name]).__name__,
                          "parameters": n, "% of the model": round(100 * n / total, 2)}
                         for name, n in counts.items()]).set_index("part")


def san_step_probabilities(model: MTDNN, batch: dict) -> Tensor:
    """The SAN head's K per-step predictions P_r^0 … P_r^{K−1} on a batch of its task: Float[B, K, C]."""
    head = model.head(batch["task"])
    if not hasattr(head, "step_probabilities"):
        raise ValueError(f"{batch['task']} has a {type(head).__name__}, not a SAN head (a pairwise classification "
                         f"task with san=True has one)")
    with evaluating(model):
        return head.step_probabilities(model.encode(batch), batch["attention_mask"], batch["token_type_ids"])


def san_steps_sentence(P: Tensor, label_names, true_label: int, which: str) -> str:
    """Markdown: what SAN's K steps P (Float[K, C], one example) say: each step's most probable class and its
    probability, how far the steps spread on it, and whether the average P_r picks the true label."""
    P = P.float()
    average = P.mean(0)
    picked = int(average.argmax())
    steps = ", ".join(f"{label_names[int(p.argmax())]} {float(p.max()):.2f}" for p in P)
    spread = float(P[:, picked].max() - P[:, picked].min())
    verdict = "the true label" if picked == true_label else f"not the true label ({label_names[true_label]})"
    return (f"Shown: {which}. The {len(P)} steps' most probable classes: {steps}. On the class the average picks, "
            f"**{label_names[picked]}** (P_r = {float(average[picked]):.2f}, {verdict}), the steps range over "
            f"{spread:.2f}.")
