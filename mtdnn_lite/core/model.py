"""MT-DNN: the shared encoder and one output layer per task (MT-DNN section 3, Figure 1), its training loss
(hard, or hard + soft where a batch carries a teacher ensemble's soft targets: MT-DNN-KD); save and load.

Two folders hold a model: `save`/`load` write a run's ``model/`` (weights and the config to rebuild them; the run
records the rest), `save_pretrained`/`from_pretrained` (pretrained.py) a folder that needs nothing else: the
tokenizer and max_length beside the weights, for use outside the kit or on the Hugging Face hub.
"""

import json
from collections.abc import Sequence
from pathlib import Path

from safetensors.torch import load_model, save_model
from torch import Tensor, nn
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from ..glue.tasks import get_task
from . import kd
from .encoder import encoder_from_config
from .heads import build_head
from .pretrained import Pretrained, package_version

WEIGHTS = "model.safetensors"
CONFIG = "config.json"


class MTDNN(nn.Module, Pretrained):
    """The shared lexicon + Transformer encoder (l1, l2) and a task-specific head for each of `tasks`.

    A batch names its task in batch["task"]: the encoder reads its tokens and that task's head answers.
    `san=False` gives the pairwise tasks a classifier of x instead of the stochastic answer network;
    `readout` is how the other heads read x off the encoder ("cls", MT-DNN's, or "mean"; heads.readout).
    `tokenizer` and `max_length` say how a text becomes the model's tokens: save_pretrained keeps them with
    the weights and from_pretrained sets them (a run's model has none: its run records them).
    """

    def __init__(self, encoder: PreTrainedModel, tasks: Sequence[str], san: bool = True, readout: str = "cls",
                 tokenizer: PreTrainedTokenizerBase | None = None, max_length: int | None = None):
        super().__init__()
        self.encoder = encoder
        self.tasks = tuple(get_task(name).name for name in tasks)
        self.san, self.readout = san, readout
        self.tokenizer, self.max_length = tokenizer, max_length
        hidden = encoder.config.hidden_size
        self.heads = nn.ModuleDict({name: build_head(get_task(name), hidden, san, readout)
                                    for name in self.tasks})

    def head(self, task: str) -> nn.Module:
        """The output layer of `task` (any spelling that tasks.get_task accepts)."""
        try:
            return self.heads[get_task(task).name]
        except KeyError:
            raise KeyError(f"this MTDNN has no head for task {task!r}; its tasks are "
                           f"{', '.join(self.tasks)}") from None

    def with_heads(self, tasks: Sequence[str]) -> "MTDNN":
        """This model with the heads of `tasks` only: the same encoder and head modules, the others left out."""
        model = MTDNN(self.encoder, tasks, self.san, self.readout, self.tokenizer, self.max_length)
        model.heads = nn.ModuleDict({name: self.head(name) for name in model.tasks})
        return model.train(self.training)

    def encode(self, batch: dict) -> Tensor:
        """The shared layers' contextual embeddings of the batch's tokens: Float[B,T,H]."""
        return self.encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                            token_type_ids=batch["token_type_ids"]).last_hidden_state

    def forward(self, batch: dict, return_loss: bool = False, kd_weight: float = 0.5,
                kd_temperature: float = 1.0) -> Tensor:
        """The output of the head of batch["task"]: logits, log P_r (SAN), the relevance logit (ranking) or the
        score (similarity); its head's log_probabilities and probabilities read it (see heads.py).

        With `return_loss`, the training loss on the batch instead (`loss`, with α = `kd_weight` and
        T = `kd_temperature`): the training loop asks for it here, the call through which a DDP-wrapped model
        averages the processes' gradients."""
        if return_loss:
            return self.loss(batch, kd_weight, kd_temperature)
        head = self.head(batch["task"])
        return head(self.encode(batch), batch["attention_mask"], batch["token_type_ids"])

    def loss(self, batch: dict, kd_weight: float = 0.5, kd_temperature: float = 1.0) -> Tensor:
        """L(Θ) on the batch b_t of task t (Algorithm 1, step 3):

            L = L_hard                                      the task's own loss (heads.py)
            L = (1 − α) · L_hard + α · T² · CE(Q_T, P_T)      where b_t carries soft targets Q (MT-DNN-KD: kd.py)

        with α = `kd_weight`, T = `kd_temperature` (the paper's: α = 0.5, T = 1).
        """
        head, output = self.head(batch["task"]), self(batch)
        if "soft_targets" in batch:  # a task with a teacher ensemble, in the student's stages
            return kd.distillation_loss(head, output, batch, kd_weight, kd_temperature)
        return head.loss(output, batch)  # L_hard

    def probabilities(self, batch: dict) -> Tensor:
        """Class probabilities Float[B,C] of the batch (for a regression, the score Float[B])."""
        return self.head(batch["task"]).probabilities(self(batch))

    def parameter_counts(self) -> dict[str, int]:
        """Parameters of the shared layers and of each task's head: {"shared": n, "MNLI": n, …}."""
        def count(module: nn.Module) -> int:
            return sum(p.numel() for p in module.parameters())
        return {"shared": count(self.encoder)} | {name: count(self.heads[name]) for name in self.tasks}

    def save(self, directory: str | Path) -> None:
        """Write model.safetensors (all weights) and config.json (what `load` needs to rebuild the model)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        save_model(self, str(directory / WEIGHTS))  # drops duplicates of shared (tied) tensors
        config = {"tasks": list(self.tasks), "san": self.san, "readout": self.readout,
                  "encoder_config": self.encoder.config.to_dict(), "mtdnn_lite_version": package_version()}
        (directory / CONFIG).write_text(json.dumps(config, indent=2))

    @classmethod
    def load(cls, directory: str | Path) -> "MTDNN":
        """The model `save` wrote to `directory`, in eval mode (as Hugging Face's from_pretrained)."""
        directory = Path(directory)
        if not ((directory / CONFIG).is_file() and (directory / WEIGHTS).is_file()):
            raise FileNotFoundError(f"{directory}: expected {CONFIG} and {WEIGHTS}, as MTDNN.save writes them")
        config = json.loads((directory / CONFIG).read_text())
        model = cls(encoder_from_config(config["encoder_config"]), config["tasks"], config["san"],
                    config.get("readout", "cls"))  # models saved before readout existed read [CLS]
        load_model(model, str(directory / WEIGHTS))
        return model.eval()

