"""Tiny image datasets in torchvision's on-disk formats, and a TorchScript Inception in NVIDIA's
layout with random weights, so the image track is tested without downloads."""

from __future__ import annotations

import pickle
import struct
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def _digit_images(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Blobs on a black 28x28 canvas: a bright bar whose position depends on the label."""
    labels = rng.integers(0, 10, n)
    images = np.zeros((n, 28, 28), dtype=np.uint8)
    for i, y in enumerate(labels):
        r = 4 + 2 * int(y)
        images[i, r:r + 3, 6:22] = 200 + rng.integers(0, 55)
        images[i] = np.clip(images[i] + rng.integers(0, 30, (28, 28)), 0, 255)
    return images, labels.astype(np.uint8)


def _write_idx(path: Path, array: np.ndarray) -> None:
    magic = 0x0803 if array.ndim == 3 else 0x0801
    with open(path, "wb") as f:
        f.write(struct.pack(">I", magic))
        for d in array.shape:
            f.write(struct.pack(">I", d))
        f.write(array.astype(np.uint8).tobytes())


def make_fake_mnist(root: Path, n_train: int = 600, n_test: int = 300, seed: int = 0) -> Path:
    """``root/MNIST/raw/*-ubyte`` as torchvision reads them."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        x, y = _digit_images(n, rng)
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", x)
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", y)
    return root


def make_fake_cifar10(root: Path, per_batch: int = 40, seed: int = 0) -> Path:
    """``root/cifar-10-batches-py`` with five training batches and a test batch (pickles)."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (per_batch, 3 * 32 * 32), dtype=np.uint8)
        with open(folder / name, "wb") as f:
            pickle.dump({"data": data, "labels": rng.integers(0, 10, per_batch).tolist()}, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [f"class{i}" for i in range(10)]}, f)
    return root


# ---- an Inception in NVIDIA's TorchScript layout ---------------------------------------------

class TFConv(nn.Module):
    """conv (no bias) + batch norm without scale (beta, mean, var; eps 1e-3) + ReLU."""

    def __init__(self, c_in: int, c_out: int, k, stride: int = 1, padding=0) -> None:
        super().__init__()
        k = (k, k) if isinstance(k, int) else k
        fan_in = c_in * k[0] * k[1]
        self.weight = nn.Parameter(torch.randn(c_out, c_in, *k) * (2.0 / fan_in) ** 0.5)
        self.beta = nn.Parameter(torch.randn(c_out) * 0.1)
        self.register_buffer("mean", torch.randn(c_out) * 0.1)
        self.register_buffer("var", torch.rand(c_out) + 0.5)
        self.stride = stride
        self.padding = padding if isinstance(padding, tuple) else (padding, padding)

    def forward(self, x):
        x = F.conv2d(x, self.weight, None, self.stride, self.padding)
        return F.relu(F.batch_norm(x, self.mean, self.var, None, self.beta, False, 0.1, 1e-3))


def _seq(*convs):
    return nn.Sequential(*convs)


class BlockA(nn.Module):  # mixed, mixed_1, mixed_2
    def __init__(self, c_in, pool):
        super().__init__()
        self.conv = TFConv(c_in, 64, 1)
        self.tower = _seq(TFConv(c_in, 48, 1), TFConv(48, 64, 5, padding=2))
        self.tower_1 = _seq(TFConv(c_in, 64, 1), TFConv(64, 96, 3, padding=1),
                            TFConv(96, 96, 3, padding=1))
        self.tower_2 = TFConv(c_in, pool, 1)

    def forward(self, x):
        p = F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)
        return torch.cat([self.conv(x), self.tower(x), self.tower_1(x), self.tower_2(p)], 1)


class BlockB(nn.Module):  # mixed_3
    def __init__(self, c_in):
        super().__init__()
        self.conv = TFConv(c_in, 384, 3, stride=2)
        self.tower = _seq(TFConv(c_in, 64, 1), TFConv(64, 96, 3, padding=1),
                          TFConv(96, 96, 3, stride=2))

    def forward(self, x):
        return torch.cat([self.conv(x), self.tower(x), F.max_pool2d(x, 3, 2)], 1)


class BlockC(nn.Module):  # mixed_4 .. mixed_7
    def __init__(self, c_in, c7):
        super().__init__()
        self.conv = TFConv(c_in, 192, 1)
        self.tower = _seq(TFConv(c_in, c7, 1), TFConv(c7, c7, (1, 7), padding=(0, 3)),
                          TFConv(c7, 192, (7, 1), padding=(3, 0)))
        self.tower_1 = _seq(TFConv(c_in, c7, 1), TFConv(c7, c7, (7, 1), padding=(3, 0)),
                            TFConv(c7, c7, (1, 7), padding=(0, 3)),
                            TFConv(c7, c7, (7, 1), padding=(3, 0)),
                            TFConv(c7, 192, (1, 7), padding=(0, 3)))
        self.tower_2 = TFConv(c_in, 192, 1)

    def forward(self, x):
        p = F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)
        return torch.cat([self.conv(x), self.tower(x), self.tower_1(x), self.tower_2(p)], 1)


class BlockD(nn.Module):  # mixed_8
    def __init__(self, c_in):
        super().__init__()
        self.tower = _seq(TFConv(c_in, 192, 1), TFConv(192, 320, 3, stride=2))
        self.tower_1 = _seq(TFConv(c_in, 192, 1), TFConv(192, 192, (1, 7), padding=(0, 3)),
                            TFConv(192, 192, (7, 1), padding=(3, 0)),
                            TFConv(192, 192, 3, stride=2))

    def forward(self, x):
        return torch.cat([self.tower(x), self.tower_1(x), F.max_pool2d(x, 3, 2)], 1)


class BlockE(nn.Module):  # mixed_9 (average pool), mixed_10 (max pool)
    def __init__(self, c_in, max_pool: bool):
        super().__init__()
        self.max_pool = max_pool
        self.conv = TFConv(c_in, 320, 1)
        self.tower_conv = TFConv(c_in, 384, 1)
        self.tower_mixed_conv = TFConv(384, 384, (1, 3), padding=(0, 1))
        self.tower_mixed_conv_1 = TFConv(384, 384, (3, 1), padding=(1, 0))
        self.tower_1_conv = TFConv(c_in, 448, 1)
        self.tower_1_conv_1 = TFConv(448, 384, 3, padding=1)
        self.tower_1_mixed_conv = TFConv(384, 384, (1, 3), padding=(0, 1))
        self.tower_1_mixed_conv_1 = TFConv(384, 384, (3, 1), padding=(1, 0))
        self.tower_2_conv = TFConv(c_in, 192, 1)

    def forward(self, x):
        a = self.tower_conv(x)
        b = self.tower_1_conv_1(self.tower_1_conv(x))
        p = (F.max_pool2d(x, 3, 1, 1) if self.max_pool
             else F.avg_pool2d(x, 3, 1, 1, count_include_pad=False))
        return torch.cat([self.conv(x), self.tower_mixed_conv(a), self.tower_mixed_conv_1(a),
                          self.tower_1_mixed_conv(b), self.tower_1_mixed_conv_1(b),
                          self.tower_2_conv(p)], 1)


class Layers(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = TFConv(3, 32, 3, stride=2)
        self.conv_1 = TFConv(32, 32, 3)
        self.conv_2 = TFConv(32, 64, 3, padding=1)
        self.conv_3 = TFConv(64, 80, 1)
        self.conv_4 = TFConv(80, 192, 3)
        self.mixed = BlockA(192, 32)
        self.mixed_1 = BlockA(256, 64)
        self.mixed_2 = BlockA(288, 64)
        self.mixed_3 = BlockB(288)
        self.mixed_4 = BlockC(768, 128)
        self.mixed_5 = BlockC(768, 160)
        self.mixed_6 = BlockC(768, 160)
        self.mixed_7 = BlockC(768, 192)
        self.mixed_8 = BlockD(768)
        self.mixed_9 = BlockE(1280, max_pool=False)
        self.mixed_10 = BlockE(2048, max_pool=True)

    def forward(self, x):
        x = self.conv_2(self.conv_1(self.conv(x)))
        x = self.conv_4(self.conv_3(F.max_pool2d(x, 3, 2)))
        x = F.max_pool2d(x, 3, 2)
        for blk in (self.mixed, self.mixed_1, self.mixed_2, self.mixed_3, self.mixed_4,
                    self.mixed_5, self.mixed_6, self.mixed_7, self.mixed_8, self.mixed_9,
                    self.mixed_10):
            x = blk(x)
        return F.adaptive_avg_pool2d(x, 1)


class NvidiaLayout(nn.Module):
    """``layers`` (+ ``output``, the 1008-way classifier, unless ``stripped``)."""

    def __init__(self, stripped: bool) -> None:
        super().__init__()
        self.layers = Layers()
        if not stripped:
            self.output = nn.Linear(2048, 1008)

    def forward(self, x):
        return self.layers(x).reshape(-1, 2048)


def make_torchscript_inception(path: Path, stripped: bool, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    module = NvidiaLayout(stripped).eval()
    with torch.no_grad():
        traced = torch.jit.trace(module, torch.zeros(1, 3, 299, 299))
    traced.save(str(path))
    return path
