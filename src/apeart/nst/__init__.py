"""Gatys neural style transfer: losses, the objective, the batched optimisation loop, multi-scale transfer, colour,
inputs, and the Gatys collection stylised in shards."""
