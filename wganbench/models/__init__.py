"""Generators and critics: a registry of builders.

A builder takes a :class:`ModelContext` and returns an ``nn.Module``. Critics return one raw score
per sample, shape ``[B, 1]`` (a logit for the GAN objectives); generators map ``[B, latent_dim]``
noise to samples of the dataset's shape.
"""

from wganbench.models.base import MODELS, ModelContext, build_model, preserved_buffers
from wganbench.models import mlp as _mlp  # noqa: F401  (registers the MLPs)
from wganbench.models import images as _images  # noqa: F401  (the authors' image models)

__all__ = ["MODELS", "ModelContext", "build_model", "preserved_buffers"]
