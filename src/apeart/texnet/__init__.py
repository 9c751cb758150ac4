"""Texture networks (Ulyanov et al. 2016): generator, training, collection stylisation, lineage, the held-out
comparison with Gatys and figures."""
