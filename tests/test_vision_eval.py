"""Vision eval: data (IDX reader), model adapters, the engine path, the CLI end to end, bad input."""

from __future__ import annotations

import base64
import gzip
import io
import json

import numpy as np
import pytest
import torch

from textrobust.cli import main
from textrobust.core.driver import execute
from textrobust.core.options import RunOptions
from textrobust.core.perturbation import build
from textrobust.errors import UserError
from vision.data import load_image_examples, read_idx
from vision.evaluation import image_rpr_plan
from vision.models import PaperCNN, image_classifier, new_model, save_model

pytestmark = pytest.mark.usefixtures("torch_single_thread")


@pytest.fixture(scope="module")
def mnist_dir(shared):
    return shared / "data" / "mnist"


@pytest.fixture(scope="module")
def tiny_cnn_dir(tmp_path_factory):
    """A randomly initialised paper CNN saved as a vision model, MNIST label names."""
    model = new_model("paper-mnist-cnn", 1, 10, (28, 28), seed=0).eval()
    return save_model(
        model, tmp_path_factory.mktemp("cnn") / "m", label_names=[str(i) for i in range(10)], image_shape=(1, 28, 28)
    )


# ------------------------------------------------------------------------ data


def test_idx_reader_matches_the_parquet_twin(mnist_dir):
    idx = load_image_examples(str(mnist_dir / "idx"), split="test")
    parquet = load_image_examples(str(mnist_dir), split="test")
    assert idx.images.shape == (10000, 1, 28, 28) and idx.images.dtype == torch.uint8
    assert torch.equal(idx.images, parquet.images)
    assert idx.labels == parquet.labels and idx.label_names == parquet.label_names == [str(i) for i in range(10)]
    raw = read_idx(mnist_dir / "idx" / "t10k-labels-idx1-ubyte.gz")
    assert raw.shape == (10000,) and raw.dtype == np.uint8


@pytest.mark.parametrize("gzipped", [False, True])
def test_idx_reader_on_written_files(tmp_path, gzipped):
    data = np.arange(2 * 3 * 4, dtype=np.int16).reshape(2, 3, 4) - 5
    raw = bytes([0, 0, 0x0B, 3]) + np.array([2, 3, 4], dtype=">i4").tobytes() + data.astype(">i2").tobytes()
    path = tmp_path / "x.idx"
    path.write_bytes(gzip.compress(raw) if gzipped else raw)
    out = read_idx(path)
    assert out.shape == (2, 3, 4) and out.dtype == np.int16 and np.array_equal(out, data)
    (tmp_path / "bad").write_bytes(b"\x01\x02\x08\x01" + b"\x00" * 8)
    with pytest.raises(UserError, match="not an IDX"):
        read_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes(raw[:-3])
    with pytest.raises(UserError, match="IDX header"):
        read_idx(tmp_path / "short")


def test_limit_and_shuffle_keep_original_row_ids(mnist_dir):
    first = load_image_examples(str(mnist_dir / "idx"), split="test", limit=5)
    assert first.ids == [0, 1, 2, 3, 4] and first.labels == [7, 2, 1, 0, 4]
    mixed = load_image_examples(str(mnist_dir / "idx"), split="test", limit=5, shuffle=True, seed=3)
    full = load_image_examples(str(mnist_dir / "idx"), split="test")
    assert mixed.ids != first.ids
    assert all(
        torch.equal(mixed.images[i], full.images[j]) and mixed.labels[i] == full.labels[j]
        for i, j in enumerate(mixed.ids)
    )


# ------------------------------------------------------------------------ engine path


def test_rpr_results_do_not_depend_on_batch_size(mnist_dir, tiny_cnn_dir):
    data = load_image_examples(str(mnist_dir / "idx"), split="test", limit=24)
    clf = image_classifier(str(tiny_cnn_dir), image_shape=data.shape, dataset_label_names=data.label_names)
    data.labels = [int(p) for p in clf([data.image(i) for i in range(len(data))])]  # every clean input right
    specs = [build("pixels", "image"), build("gaussian:sigma=0.2", "image")]

    def run(b):
        plan = image_rpr_plan({}, clf, data, specs, max_steps=40, seed=0, batch_size=b, encode=None)
        return execute(lambda group: plan, lambda result: result, RunOptions(batch_size=b))

    runs = [run(b) for b in (1, 7, 256)]
    flips = [[r["first_flip"] for r in run.records] for run in runs]
    assert flips[0] == flips[1] == flips[2]
    assert any(f["pixels:k=0"] is not None for f in flips[0]) and all(f["pixels:k=0"] != 0 for f in flips[0])
    # early exit: a flipped example stops asking; the model sees far fewer than n * steps * specs inputs
    assert runs[2].stats.model_calls < 24 * (1 + 40 * 2)


def test_model_adapters_agree(tmp_path, mnist_dir, tiny_cnn_dir):
    data = load_image_examples(str(mnist_dir / "idx"), split="test", limit=16)
    x = [data.image(i) for i in range(16)]
    saved = image_classifier(str(tiny_cnn_dir), image_shape=data.shape, dataset_label_names=data.label_names)
    module = PaperCNN()
    module.load_state_dict(saved.model.state_dict())
    plain = image_classifier(module.eval(), image_shape=data.shape, label_names=[str(i) for i in range(10)])
    traced = torch.jit.trace(saved.model, torch.zeros(2, 1, 28, 28))
    traced.save(str(tmp_path / "m.pt"))
    scripted = image_classifier(str(tmp_path / "m.pt"), image_shape=data.shape, dataset_label_names=data.label_names)
    expect = saved(x)
    assert np.array_equal(plain(x), expect) and np.array_equal(scripted(x), expect)


def test_label_mapping_by_name(mnist_dir):
    class Fixed(torch.nn.Module):
        def forward(self, x):  # always the model's label 0
            return torch.nn.functional.one_hot(torch.zeros(len(x), dtype=torch.long), 10).float()

    names = [str(9 - i) for i in range(10)]  # the model's label 0 is called "9"
    clf = image_classifier(
        Fixed(), image_shape=(1, 28, 28), dataset_label_names=[str(i) for i in range(10)], label_names=names
    )
    assert clf([torch.zeros(1, 28, 28)]).tolist() == [9]
    with pytest.raises(UserError, match="label mismatch"):
        image_classifier(Fixed(), image_shape=(1, 28, 28), dataset_label_names=["a", "b"])


# ------------------------------------------------------------------------ CLI


def _run(args, capsys):
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_vision_eval_cli_end_to_end(tmp_path, mnist_dir, tiny_cnn_dir, capsys):
    out = tmp_path / "out"
    args = ["vision", "eval", "--model", str(tiny_cnn_dir), "--dataset", str(mnist_dir), "--limit", "30"]
    args += [
        "--max-steps",
        "10",
        "--perturb",
        "pixels",
        "--perturb",
        "snow:severity=1",
        "--output",
        str(out),
        "--no-progress",
    ]
    code, stdout, err = _run(args, capsys)
    assert code == 0, err
    assert "clean accuracy" in stdout and "pixels:k=0" in stdout and "snow:severity=1" in stdout
    report = json.loads((out / "report.json").read_text())
    assert report["n_examples"] == 30 and report["image_shape"] == [1, 28, 28]
    assert [p["spec"] for p in report["perturbations"]] == ["pixels:k=0", "snow:severity=1"]
    assert len(report["perturbations"][0]["rpr"]["survival"]) == 10
    for name in ("report.md", "survival.png", "per_class.png", "run.json"):
        assert (out / name).is_file()
    lines = [json.loads(line) for line in (out / "examples.jsonl").read_text().splitlines()]
    assert [r["index"] for r in lines] == list(range(30))
    flipped = [r["flipped_image"]["pixels:k=0"] for r in lines if r["first_flip"]["pixels:k=0"]]
    assert flipped, "expected some flips from a random model"
    from PIL import Image

    png = Image.open(io.BytesIO(base64.b64decode(flipped[0].split(",", 1)[1])))
    assert png.size == (28, 28) and png.mode == "L"
    # the same run resumed from its records gives the same report
    code, _, err = _run([*args, "--resume"], capsys)
    assert code == 0, err
    again = json.loads((out / "report.json").read_text())
    assert again["resumed_examples"] == 30 and again["perturbations"] == report["perturbations"]


def test_vision_eval_with_a_hugging_face_image_classifier(tmp_path, mnist_dir, capsys):
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    labels = {i: str(i) for i in range(10)}
    config = ViTConfig(
        image_size=16,
        patch_size=8,
        num_channels=3,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        num_labels=10,
        id2label=labels,
        label2id={v: k for k, v in labels.items()},
    )
    torch.manual_seed(0)
    ViTForImageClassification(config).save_pretrained(tmp_path / "vit")
    ViTImageProcessor(size={"height": 16, "width": 16}, image_mean=[0.5] * 3, image_std=[0.5] * 3).save_pretrained(
        tmp_path / "vit"
    )
    code, stdout, err = _run(
        [
            "vision",
            "eval",
            "--model",
            str(tmp_path / "vit"),
            "--dataset",
            str(mnist_dir / "idx"),
            "--limit",
            "12",
            "--max-steps",
            "5",
            "--perturb",
            "pixels:k=10",
            "--output",
            str(tmp_path / "out"),
            "--no-progress",
        ],
        capsys,
    )
    assert code == 0, err
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["n_examples"] == 12 and report["perturbations"][0]["spec"] == "pixels:k=10"


def test_a_float16_hugging_face_image_checkpoint_loads_in_float32(tmp_path):
    from transformers import ViTConfig, ViTForImageClassification

    from vision.models import image_classifier

    config = ViTConfig(
        image_size=16, patch_size=8, num_channels=3, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, num_labels=10,
    )  # fmt: skip
    torch.manual_seed(0)
    ViTForImageClassification(config).half().save_pretrained(tmp_path / "vit16")
    clf = image_classifier(str(tmp_path / "vit16"), image_shape=(3, 16, 16), device="cpu")
    assert {p.dtype for p in clf.model.parameters()} == {torch.float32}
    assert clf.logits(torch.rand(4, 3, 16, 16)).shape == (4, 10)


def test_vision_eval_label_count_mismatch(tmp_path, mnist_dir, capsys):
    model = new_model("paper-mnist-cnn", 1, 3, (28, 28), seed=0)
    path = save_model(model, tmp_path / "m3", label_names=None, image_shape=(1, 28, 28))
    code, _, err = _run(
        ["vision", "eval", "--model", str(path), "--dataset", str(mnist_dir), "--limit", "5", "--no-progress"], capsys
    )
    assert code == 2 and "label mismatch" in err and len(err.strip().splitlines()) == 1


def test_vision_eval_wrong_image_shape(tmp_path, shared, tiny_cnn_dir, capsys):
    code, _, err = _run(
        [
            "vision",
            "eval",
            "--model",
            str(tiny_cnn_dir),
            "--dataset",
            str(shared / "data" / "cifar10"),
            "--limit",
            "3",
            "--no-progress",
        ],
        capsys,
    )
    assert code == 2 and "cannot classify images of shape (3, 32, 32)" in err and len(err.strip().splitlines()) == 1
