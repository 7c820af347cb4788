"""Running the papers' stages: named profiles, run folders and their artefacts, each task's prepared data,
the stages wired on the runs, and the estimate of what is left to train. Imports glue and core."""
