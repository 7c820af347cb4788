"""GLUE itself: the nine tasks and AX (tasks), their files (glue_files), loading them as datasets (data),
tokenised features and mini-batches (features), and each task's metric (metrics). Imports nothing else of
mtdnn_lite."""
