"""Sample-quality metrics: exact optimal transport on toy data (:mod:`wganbench.metrics.ot`)."""

from wganbench.metrics.ot import exact_w1

__all__ = ["exact_w1"]
