"""Neural style transfer (Gatys et al. 2016): inputs, losses, the batched optimisation loop, the collection."""
