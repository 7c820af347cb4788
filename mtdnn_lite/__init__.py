"""mtdnn_lite: MT-DNN and MT-DNN-KD on GLUE, as a teaching kit, in five layers, each importing only those before it:

- ``glue``: the nine tasks, their files, loading, features, metrics and examples of one's own;
- ``core``: the model (shared encoder, task heads), Algorithm 1's sampler, the optimiser, the distillation loss,
  the training loop, a trained model's pretrained folder and predictions: the small library exported here;
- ``experiments``: named profiles, run folders, the papers' stages wired on them;
- ``reporting``: the tables, published numbers, submission files, cost and the recipe's statistics;
- ``views``: what only the notebooks use.

``python -m mtdnn_lite`` (``__main__.py``) is the command line on top.
"""

from .core.encoder import load_encoder
from .core.heads import ClassificationHead, RankingHead, SANHead, SimilarityHead, build_head
from .core.inference import predict_texts
from .core.kd import distillation_loss
from .core.model import MTDNN
from .core.sampler import epoch_plan
from .core.trainer import TrainSettings, train

__all__ = ["MTDNN", "ClassificationHead", "RankingHead", "SANHead", "SimilarityHead", "TrainSettings", "build_head",
           "distillation_loss", "epoch_plan", "load_encoder", "predict_texts", "train"]
