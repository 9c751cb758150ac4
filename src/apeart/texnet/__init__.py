"""Texture networks (Ulyanov et al. 2016): generator, training, collection stylisation, lineage."""
