"""The evaluation classifier of the fairness experiments (experiment tooling, not the core).

:class:`ImageClassifier` is a small MLP whose predictions assign generated images to
classes and whose penultimate layer gives the features of the FID;
:func:`fit_classifier` trains it with cross-entropy. Used by
:func:`~ple_stats.experiments.reproduce_fairness` and
:func:`~ple_stats.experiments.reproduce_deep_madness`. Needs PyTorch.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ..hyper._checks import as_device, as_generator, check_positive_int
from ..hyper.models import _linear, as_images

__all__ = ["ImageClassifier", "fit_classifier"]


class ImageClassifier(nn.Module):
    """A small MLP classifier of flattened images; its penultimate layer gives FID features.

    Parameters
    ----------
    in_features : int, default 64
        Pixels per image.
    n_classes : int, default 10
        Number of classes.
    hidden : sequence of int, default (128, 32)
        Hidden widths (ReLU); the last is the feature dimension.
    seed : None, int or torch.Generator
        Initialisation randomness.

    Examples
    --------
    >>> import torch
    >>> from ple_stats.experiments._classifier import ImageClassifier
    >>> clf = ImageClassifier(64, n_classes=10, seed=0)
    >>> x = torch.rand(5, 64, generator=torch.Generator().manual_seed(0))
    >>> clf(x).shape, clf.features(x).shape
    (torch.Size([5, 10]), torch.Size([5, 32]))
    """

    def __init__(self, in_features: int = 64, *, n_classes: int = 10,
                 hidden: Sequence[int] = (128, 32), seed: int | torch.Generator | None = None):
        super().__init__()
        in_features = check_positive_int(in_features, "in_features")
        n_classes = check_positive_int(n_classes, "n_classes", minimum=2)
        hidden = tuple(check_positive_int(h, "hidden") for h in hidden)
        if not hidden:
            raise ValueError("`hidden` must hold at least one width (the feature layer).")
        generator = as_generator(seed, "seed")
        layers, sizes = [], (in_features,) + hidden
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            layers += [_linear(fan_in, fan_out, generator), nn.ReLU()]
        self.in_features, self.n_classes = in_features, n_classes
        self.body = nn.Sequential(*layers)
        self.head = _linear(hidden[-1], n_classes, generator)

    def features(self, x: Tensor) -> Tensor:
        """Penultimate-layer activations, ``(N, hidden[-1])``."""
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        """Class logits, ``(N, n_classes)``."""
        return self.head(self.body(x))


def fit_classifier(classifier: ImageClassifier, x, y, *, epochs: int = 100,
                   batch_size: int = 64, lr: float = 1e-3, weight_decay: float = 1e-4,
                   seed: int | None = 0, device=None) -> list[float]:
    """Train an :class:`ImageClassifier` with cross-entropy (Adam); returns the loss per epoch.

    ``y`` holds integer class indices in ``[0, n_classes)``.

    Examples
    --------
    >>> import torch
    >>> from ple_stats.experiments._classifier import ImageClassifier, fit_classifier
    >>> x = torch.rand(40, 8, generator=torch.Generator().manual_seed(0))
    >>> y = (x[:, 0] > 0.5).long()
    >>> clf = ImageClassifier(8, n_classes=2, hidden=(16,), seed=0)
    >>> losses = fit_classifier(clf, x, y, epochs=200, device="cpu")
    >>> bool(losses[-1] < losses[0])
    True
    """
    if not isinstance(classifier, ImageClassifier):
        raise TypeError(f"`classifier` must be an ImageClassifier; got "
                        f"{type(classifier).__name__}.")
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    device = as_device(device)
    x = as_images(x, "x", in_features=classifier.in_features, device=device)
    y = torch.as_tensor(y, device=device).long().reshape(-1)
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"`y` must hold one label per image ({x.shape[0]}); got {y.shape[0]}.")
    if y.min() < 0 or y.max() >= classifier.n_classes:
        raise ValueError(f"`y` must hold class indices in [0, {classifier.n_classes}); got "
                         f"range [{y.min().item()}, {y.max().item()}].")
    classifier.to(device)
    opt = torch.optim.Adam(classifier.parameters(), lr=lr, weight_decay=weight_decay)
    shuffle = as_generator(seed, "seed")
    n, losses = x.shape[0], []
    classifier.train()
    for _ in range(epochs):
        order = torch.randperm(n, generator=shuffle).to(device)
        total = 0.0
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            loss = F.cross_entropy(classifier(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * idx.numel()
        losses.append(total / n)
    classifier.eval()
    return losses
