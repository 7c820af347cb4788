"""Turning runs into results: score tables, published numbers, intervals, submission files, inference cost, the
ablation grid and `reproduce` (every stage, then every table). Imports glue, core and experiments."""
