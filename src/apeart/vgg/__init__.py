"""VGG feature extractors (NST losses, GAN quality metrics): the offline Caffe VGG19 or torchvision weights."""
