"""wganbench: reproduce and benchmark Wasserstein GANs (WGAN, WGAN-GP) and their GAN baselines."""

__version__ = "0.1.0"
