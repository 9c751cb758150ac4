"""The kernel every stage shares, free of domain facts: params machinery, errors, atomic files, images and
grids, CSV files, checkpoints and resume folders, runtime, distributed launch, progress and metrics."""
