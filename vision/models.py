"""Image classifiers for the engine (a batch of images in, dataset labels out) and the
reproduction's CNNs.

* :class:`PaperCNN` — the RPR paper's MNIST CNN, as in the authors' Keras code;
* :class:`SmallCifarCNN` — our small CIFAR-10 CNN (the paper has none);
* :class:`ImageClassifier` — any torch ``nn.Module`` (logits out) or Hugging Face
  ``AutoModelForImageClassification`` as an engine classifier;
* :func:`image_classifier` — one from a module or a path: a directory saved by
  :func:`save_model` (``vision_model.json`` + ``model.safetensors``), a Hugging Face model
  directory or Hub id, or a TorchScript file (``.pt``/``.pth``/``.ts``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

from textrobust.errors import UserError
from textrobust.hf.hub import loading_model, looks_like_path
from textrobust.hf.modeling import is_default_label_names, label_mapping, resolve_device
from vision.batch import stack_images

META_FILE = "vision_model.json"
WEIGHTS_FILE = "model.safetensors"


def _keras_init(module: nn.Module) -> None:
    """Keras defaults: Glorot-uniform kernels, zero biases (BatchNorm: ones and zeros)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)


# BatchNorm: Keras' epsilon (1e-3) but PyTorch's momentum (0.1, i.e. Keras momentum 0.9), not Keras'
# 0.99: with 0.99 the running statistics trail the weights by ~100 optimiser steps, so on a subset of
# a few thousand images (~50 steps an epoch) the eval-mode model is useless for the first epochs and
# early stopping gives up on it (a CIFAR-10 control stopped at epoch 6 with 14% test accuracy).
BN_MOMENTUM = 0.1


def _bn2d(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=1e-3, momentum=BN_MOMENTUM)


def _conv_relu_bn(in_channels: int, out_channels: int) -> list[nn.Module]:
    """Conv(out_channels, 3x3, same)-ReLU-BN, the convolution block of both CNNs."""
    return [nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.ReLU(), _bn2d(out_channels)]


def _dense_head(features: int, hidden: int, num_classes: int) -> nn.Sequential:
    """Flatten -> Dense(hidden)-ReLU-BN-Dropout(0.5) -> Dense(classes), the head of both CNNs."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(features, hidden),
        nn.ReLU(),
        nn.BatchNorm1d(hidden, eps=1e-3, momentum=BN_MOMENTUM),
        nn.Dropout(0.5),
        nn.Linear(hidden, num_classes),
    )


class PaperCNN(nn.Module):
    """The paper's MNIST CNN (authors' ``mnistcnn.py``): Conv(8, 3x3, same)-ReLU-BN-Dropout(0.3)
    -> Conv(8, 3x3, same)-ReLU-BN-MaxPool(2) -> Flatten -> Dense(16)-ReLU-BN-Dropout(0.5)
    -> Dense(classes). Logits out (softmax is in the loss). Inputs are [0, 1] images."""

    architecture = "paper-mnist-cnn"

    def __init__(self, in_channels: int = 1, num_classes: int = 10, image_size: Sequence[int] = (28, 28)) -> None:
        super().__init__()
        h, w = image_size
        self.features = nn.Sequential(
            *_conv_relu_bn(in_channels, 8), nn.Dropout(0.3), *_conv_relu_bn(8, 8), nn.MaxPool2d(2)
        )
        self.classifier = _dense_head(8 * (h // 2) * (w // 2), 16, num_classes)
        _keras_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # channels-last convolutions are several times faster on CPU for so few channels
        return self.classifier(self.features(x.contiguous(memory_format=torch.channels_last)))


class SmallCifarCNN(nn.Module):
    """Our CIFAR-10 CNN (the paper has none), in the paper CNN's style and small enough for
    RPR on two CPU cores (about 3 M multiply-adds per image, six times the MNIST CNN):
    Conv(16, 3x3, same)-ReLU-BN-MaxPool(2) -> Conv(32)-ReLU-BN-MaxPool(2)-Dropout(0.2)
    -> Conv(64)-ReLU-BN-MaxPool(2)-Dropout(0.3) -> Flatten -> Dense(128)-ReLU-BN-Dropout(0.5)
    -> Dense(classes)."""

    architecture = "small-cifar-cnn"

    def __init__(self, in_channels: int = 3, num_classes: int = 10, image_size: Sequence[int] = (32, 32)) -> None:
        super().__init__()
        h, w = image_size
        self.features = nn.Sequential(
            *_conv_relu_bn(in_channels, 16),
            nn.MaxPool2d(2),
            *_conv_relu_bn(16, 32),
            nn.MaxPool2d(2),
            nn.Dropout(0.2),
            *_conv_relu_bn(32, 64),
            nn.MaxPool2d(2),
            nn.Dropout(0.3),
        )
        self.classifier = _dense_head(64 * (h // 8) * (w // 8), 128, num_classes)
        _keras_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x.contiguous(memory_format=torch.channels_last)))


ARCHITECTURES: dict[str, type[nn.Module]] = {PaperCNN.architecture: PaperCNN, SmallCifarCNN.architecture: SmallCifarCNN}


def new_model(architecture: str, in_channels: int, num_classes: int, image_size: Sequence[int], seed: int) -> nn.Module:
    """A freshly initialised model (seeded), in channels-last memory format."""
    torch.manual_seed(seed)
    model = ARCHITECTURES[architecture](in_channels, num_classes, tuple(image_size))
    return model.to(memory_format=torch.channels_last)


def save_model(
    model: nn.Module,
    directory: str | os.PathLike,
    *,
    label_names: Sequence[str] | None,
    image_shape: Sequence[int],
    extra: dict | None = None,
) -> Path:
    """Save one of :data:`ARCHITECTURES` as ``vision_model.json`` + ``model.safetensors``."""
    from safetensors.torch import save_file

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    c, h, w = image_shape
    head = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    meta = {
        "architecture": model.architecture,
        "in_channels": c,
        "image_size": [h, w],
        "num_classes": head.out_features,
        "label_names": list(label_names) if label_names is not None else None,
        **(extra or {}),
    }
    (out / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    save_file({k: v.detach().contiguous() for k, v in model.state_dict().items()}, str(out / WEIGHTS_FILE))
    return out


def load_saved_module(d: Path, what: str, meta_file: str, build: Callable[[dict], nn.Module]) -> tuple[nn.Module, dict]:
    """(module in eval mode, channels-last, metadata) from a directory holding ``meta_file`` and
    :data:`WEIGHTS_FILE`: ``build(meta)`` makes the module (a ``KeyError`` or ``ValueError`` when
    the metadata does not fit), then the weights are loaded. Any failure is a one-line
    :class:`~textrobust.errors.UserError` naming ``what`` (model, denoiser)."""
    from safetensors.torch import load_file

    try:
        meta = json.loads((d / meta_file).read_text())
        model = build(meta)
        model.load_state_dict(load_file(str(d / WEIGHTS_FILE)))
    except (OSError, KeyError, ValueError, RuntimeError) as e:
        raise UserError(
            f"cannot load the {what} in {str(d)!r}: {str(e).splitlines()[0] if str(e) else type(e).__name__}"
        ) from None
    return model.to(memory_format=torch.channels_last).eval(), meta


def load_saved_model(directory: str | os.PathLike) -> tuple[nn.Module, dict]:
    """(model in eval mode, metadata) from a :func:`save_model` directory."""

    def build(meta: dict) -> nn.Module:
        cls = ARCHITECTURES[meta["architecture"]]
        return cls(meta["in_channels"], meta["num_classes"], tuple(meta["image_size"]))

    return load_saved_module(Path(directory), "model", META_FILE, build)


def _logits(output: Any) -> torch.Tensor:
    return output.logits if hasattr(output, "logits") else output


@dataclass
class ImageClassifier:
    """Engine classifier: images (tensors or :class:`~vision.batch.ImageRow`) in, dataset
    label ids out, one forward pass per batch under ``torch.inference_mode``."""

    model: nn.Module
    device: Any
    label_map: np.ndarray  # model label id -> dataset label id
    name: str = ""
    preprocess: Callable[[torch.Tensor], torch.Tensor] | None = None
    label_names: list[str] | None = None

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Model logits of a ``(B, C, H, W)`` float batch in [0, 1]."""
        if self.preprocess is not None:
            x = self.preprocess(x)
        was_training = self.model.training
        if was_training:  # switching modes walks every submodule: only when needed
            self.model.eval()
        try:
            with torch.inference_mode():
                return _logits(self.model(x.to(self.device)))
        finally:
            if was_training:
                self.model.train()

    def __call__(self, images: Sequence[Any]) -> np.ndarray:
        return self.label_map[self.logits(stack_images(images)).argmax(dim=-1).cpu().numpy()]


def _hf_preprocess(processor: Any, channels: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """Resize and normalise [0, 1] batches as the model's image processor would, in torch."""
    size = getattr(processor, "size", None)

    def field(key: str) -> Any:  # processors keep ``size`` as a dict or as an object with attributes
        return size.get(key) if isinstance(size, dict) else getattr(size, key, None)

    target: tuple[int, int] | None = None
    if isinstance(size, int):
        target = (size, size)
    elif size is not None and field("height") and field("width"):
        target = (int(field("height")), int(field("width")))
    elif size is not None and field("shortest_edge"):
        target = (int(field("shortest_edge")), int(field("shortest_edge")))
    if not getattr(processor, "do_resize", True):
        target = None
    mean = getattr(processor, "image_mean", None) if getattr(processor, "do_normalize", True) else None
    std = getattr(processor, "image_std", None) if mean is not None else None

    def preprocess(x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1 and channels == 3:
            x = x.expand(-1, 3, -1, -1)
        if target is not None and tuple(x.shape[-2:]) != target:
            x = torch.nn.functional.interpolate(x, size=target, mode="bilinear", align_corners=False, antialias=True)
        if mean is not None:
            m = torch.tensor(mean, dtype=x.dtype).view(1, -1, 1, 1)
            s = torch.tensor(std, dtype=x.dtype).view(1, -1, 1, 1)
            x = (x - m) / s
        return x

    return preprocess


def _load_hf(name: str, device: Any) -> tuple[nn.Module, Callable, list[str]]:
    from transformers import AutoImageProcessor, AutoModelForImageClassification

    with loading_model(name, name, "image classifier"):
        # float32 whatever the checkpoint stores (a float16 checkpoint would not take float images)
        model = AutoModelForImageClassification.from_pretrained(name, dtype=torch.float32)
        try:
            processor = AutoImageProcessor.from_pretrained(name)
        except (OSError, ValueError):
            processor = None
    config = model.config
    names = [str(config.id2label[i]) for i in range(config.num_labels)]
    channels = int(getattr(config, "num_channels", 3))
    return model.to(device).eval(), (_hf_preprocess(processor, channels) if processor is not None else None), names


def _load_path(name: str, device: Any) -> tuple[nn.Module, Callable | None, list[str] | None, str]:
    path = Path(os.path.expanduser(name))
    if looks_like_path(name) and not path.exists():
        raise UserError(f"model path not found: {name!r}")
    if path.is_dir() and (path / META_FILE).is_file():
        model, meta = load_saved_model(path)
        return model.to(device), None, meta.get("label_names"), str(name)
    if path.is_dir() and not (path / "config.json").is_file():
        raise UserError(f"{name!r} holds neither {META_FILE} (a vision model) nor config.json (a Hugging Face model)")
    if path.is_file():
        try:
            model = torch.jit.load(str(path), map_location=device)
        except Exception as e:  # noqa: BLE001 - torch raises several types for a bad file
            raise UserError(
                f"cannot load {name!r} as a TorchScript model: {str(e).splitlines()[0] if str(e) else type(e).__name__}"
            ) from None
        return model.eval(), None, None, str(name)
    model, preprocess, names = _load_hf(str(path) if path.exists() else name, device)
    return model, preprocess, names, str(name)


def image_classifier(
    model: Any,
    *,
    image_shape: Sequence[int],
    dataset_label_names: Sequence[str] | None = None,
    dataset_labels: Sequence[int] = (),
    device: str | None = None,
    preprocess: Callable[[torch.Tensor], torch.Tensor] | None = None,
    label_names: Sequence[str] | None = None,
) -> ImageClassifier:
    """An :class:`ImageClassifier` from an ``nn.Module`` or a path / Hub id, checked against
    the dataset: it must run on one image of ``image_shape`` and have as many outputs as the
    dataset has labels (mapped by name when both sides name them, else by index)."""
    dev = resolve_device(device)
    if isinstance(model, (str, os.PathLike)):
        module, loaded_pre, names, name = _load_path(str(model), dev)
        preprocess = preprocess or loaded_pre
        label_names = label_names or names
    elif isinstance(model, nn.Module):
        module, name = model.to(dev), type(model).__name__
        config = getattr(model, "config", None)
        if label_names is None and config is not None and hasattr(config, "id2label"):
            label_names = [str(config.id2label[i]) for i in range(config.num_labels)]
        if label_names is None:
            label_names = getattr(model, "label_names", None)
    else:
        raise UserError(f"model must be a torch nn.Module or a path, got {type(model).__name__}")
    probe = ImageClassifier(module, dev, np.arange(1), name, preprocess)
    try:
        n_out = int(probe.logits(torch.zeros((2, *image_shape))).shape[-1])
    except Exception as e:  # noqa: BLE001 - any failure means the model cannot take these images
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise UserError(f"model {name!r} cannot classify images of shape {tuple(image_shape)}: {first}") from None
    names = [str(n) for n in label_names] if label_names is not None else [f"LABEL_{i}" for i in range(n_out)]
    if len(names) != n_out:
        names = [f"LABEL_{i}" for i in range(n_out)]
    mapping = label_mapping(names, dataset_label_names, dataset_labels)
    return ImageClassifier(module, dev, mapping, name, preprocess, None if is_default_label_names(names) else names)
