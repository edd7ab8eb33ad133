"""Datasets: a registry of :class:`DatasetSpec` and the samplers they build.

Importing this package registers the toy sets of :mod:`wganbench.data.toy` and the image
sets of :mod:`wganbench.data.images`.
"""

from wganbench.data.base import DATASETS, DataOptions, DatasetSpec, Sampler, get_dataset
from wganbench.data import toy as _toy  # noqa: F401  (registers the toy sets)
from wganbench.data import images as _images  # noqa: F401  (MNIST, CIFAR-10, image folders)

__all__ = ["DATASETS", "DataOptions", "DatasetSpec", "Sampler", "get_dataset"]
