"""What every dataset provides to the runner."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch

from wganbench.registry import Registry


class Sampler:
    """Draws real batches. Randomness comes only from the ``torch.Generator`` passed in.

    Samplers that draw fresh points on every call hold no state. Samplers that iterate over a
    fixed dataset keep their position in :meth:`state_dict`, so a resumed run continues exactly.
    """

    #: shape of one sample, e.g. ``(2,)`` for 2-D toy points
    shape: tuple[int, ...] = ()

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """The next training batch of ``n`` real samples, on ``generator.device``."""
        raise NotImplementedError

    def sample_eval(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` real samples for evaluation; must not change the training state."""
        return self.sample(n, generator)

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


@dataclass(frozen=True)
class DataOptions:
    """What a run tells its dataset: where files live, whether to download, and which part.

    Toy datasets ignore all of it; image datasets read files under ``root``.
    """

    root: str | None = None
    download: bool = False
    split: str = "train"
    #: a random subset of this many training items (drawn with ``seed``), or all of them
    limit: int | None = None
    seed: int = 0
    #: data-parallel training: which share of an ordered dataset this process reads
    rank: int = 0
    world_size: int = 1


@dataclass(frozen=True)
class DatasetSpec:
    """A registered dataset and the experiment defaults that come with it.

    The defaults (latent distribution, models, width, depth) are those of the paper or code the
    dataset comes from; ``source`` says which.
    """

    name: str
    make: Callable[[DataOptions], Sampler]
    shape: tuple[int, ...]
    latent: str
    latent_dim: int
    generator: str
    critic: str
    width: int
    depth: int
    source: str
    #: whether the exact Wasserstein-1 distance between sample sets is computed at eval steps
    exact_w1: bool = True
    #: value range of one sample, for image datasets the range the papers scale pixels to;
    #: image generators end in the matching squashing function (sigmoid / tanh)
    value_range: tuple[float, float] | None = None
    extra: dict = field(default_factory=dict)

    @property
    def dim(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n


DATASETS: Registry[DatasetSpec] = Registry("dataset")


def get_dataset(name: str) -> DatasetSpec:
    return DATASETS.get(name)
