"""VAE-GAN (Larsen et al. 2016): models, training, sampling."""
