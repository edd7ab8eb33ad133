"""Datasets: a registry of :class:`DatasetSpec` and the samplers they build.

Importing this package registers the toy sets of :mod:`wganbench.data.toy`.
"""

from wganbench.data.base import DATASETS, DatasetSpec, Sampler, get_dataset
from wganbench.data import toy as _toy  # noqa: F401  (registers the toy sets)

__all__ = ["DATASETS", "DatasetSpec", "Sampler", "get_dataset"]
