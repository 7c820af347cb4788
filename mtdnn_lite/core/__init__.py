"""The small core of MT-DNN and MT-DNN-KD: the shared encoder, the task heads, the model, Algorithm 1's sampler,
the optimiser, the distillation loss, the training loop and scoring. Imports only `mtdnn_lite.glue`."""
