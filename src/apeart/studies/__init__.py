"""NST studies from the seeds: beta sweeps and reconstructions from white noise."""
