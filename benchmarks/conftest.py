"""pytest-benchmark options for the throughput suite (not part of the test suite)."""

import torch


def pytest_addoption(parser):
    parser.addoption("--bench-rounds", type=int, default=3,
                     help="timed rounds per benchmark after one warm-up round (default 3)")


def devices() -> list[str]:
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
