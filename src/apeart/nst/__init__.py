"""Neural style transfer (Gatys et al.): backbones, losses, the batched optimisation loop, experiments."""
