"""Shared kernel of every stage: typed params, atomic writes, images and grids, runtime, progress, metrics."""
