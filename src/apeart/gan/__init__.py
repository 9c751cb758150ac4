"""DCGAN (Radford et al. 2015): models, training, sampling and the fd_vgg19/KID yardstick."""
