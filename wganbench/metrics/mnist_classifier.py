"""A small MNIST classifier that serves as a domain feature extractor for FID / KID / IS.

Inception features need a 92 MB download and run at about 12 images/s on a CPU; on MNIST a
classifier trained on the digits themselves gives features that are both cheap and meaningful
(the "domain" FID used by many MNIST GAN papers). Its weights ship in the package
(``weights/mnist-lenet.pt``, about 0.7 MB), trained by::

    python -m wganbench.metrics.mnist_classifier --data-root DIR

which also writes ``weights/mnist-lenet.json``: test accuracy, weights sha256, settings and
provenance. Numbers computed with it are comparable only with numbers computed with the same
weights; every metric row carries their sha256.

Architecture (LeNet-style): conv5 1->32, ReLU, maxpool 2; conv5 32->64, ReLU, maxpool 2;
Linear 1024->128, ReLU (the 128-d features for FID and KID); Linear 128->10 (logits for IS).
Input: uint8 images (B, 1 or 3, 28, 28); three channels are averaged to grey.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

WEIGHTS_DIR = Path(__file__).parent / "weights"
WEIGHTS = WEIGHTS_DIR / "mnist-lenet.pt"
CARD = WEIGHTS_DIR / "mnist-lenet.json"
#: MNIST training-set pixel mean and std (of x / 255), the usual input normalisation
MEAN, STD = 0.1307, 0.3081


class MnistLeNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 5)
        self.conv2 = nn.Conv2d(32, 64, 5)
        self.fc1 = nn.Linear(64 * 4 * 4, 128)
        self.fc2 = nn.Linear(128, 10)

    def features(self, x_uint8: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(128-d features, 10 logits) of uint8 images."""
        x = x_uint8.float()
        if x.shape[1] == 3:
            x = x.mean(dim=1, keepdim=True)
        x = (x / 255.0 - MEAN) / STD
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        feats = F.relu(self.fc1(x.flatten(1)))
        return feats, self.fc2(feats)

    def forward(self, x_uint8: torch.Tensor) -> torch.Tensor:
        return self.features(x_uint8)[1]


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_classifier(path: str | Path = WEIGHTS) -> MnistLeNet:
    model = MnistLeNet()
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.eval().requires_grad_(False)


def accuracy(model: MnistLeNet, images: torch.Tensor, labels: torch.Tensor) -> float:
    with torch.no_grad():
        pred = torch.cat([model(images[i:i + 1000]).argmax(1) for i in range(0, len(images), 1000)])
    return float((pred == labels).float().mean())


def train(data_root: str, epochs: int = 4, seed: int = 0, out: Path = WEIGHTS) -> dict:
    """Train on the 60k training digits (Adam 1e-3, batch 128, light random shifts of up to 2
    pixels so features do not hinge on exact centring) and report test accuracy."""
    import torchvision

    from wganbench import provenance
    from wganbench.results import atomic_write, write_json

    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    tr = torchvision.datasets.MNIST(data_root, train=True, download=False)
    te = torchvision.datasets.MNIST(data_root, train=False, download=False)
    x, y = tr.data.unsqueeze(1), tr.targets
    model = MnistLeNet()
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    start = time.time()
    for epoch in range(epochs):
        perm = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), 128):
            idx = perm[i:i + 128]
            dx, dy = torch.randint(-2, 3, (2,), generator=g).tolist()
            batch = torch.roll(x[idx], shifts=(dy, dx), dims=(2, 3))
            loss = F.cross_entropy(model(batch), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        print(f"epoch {epoch + 1}/{epochs}: loss {loss.item():.4f}")
    model.eval()
    acc = accuracy(model, te.data.unsqueeze(1), te.targets)
    out.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    atomic_write(out, lambda f: torch.save(state, f))
    card = {"test_accuracy": acc, "test_images": len(te.targets), "epochs": epochs, "seed": seed,
            "optimizer": "Adam 1e-3, batch 128, random shifts of up to 2 px",
            "train_seconds": round(time.time() - start, 1), "weights_sha256": file_sha256(out),
            "provenance": provenance.collect(torch.device("cpu"), seed=seed)}
    write_json(out.with_suffix(".json"), card)
    return card


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", required=True, help="root of torchvision's MNIST folder")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    args = parser.parse_args()
    card = train(args.data_root, args.epochs, args.seed, args.out)
    print(f"test accuracy {card['test_accuracy']:.4f}; wrote {args.out}")


if __name__ == "__main__":
    main()
