"""The Hugging Face adapter (label mapping, batching) and dataset loading."""

import json

import numpy as np
import pytest

from textrobust.errors import UserError
from textrobust.hf.data import load_split, select_rows
from textrobust.hf.modeling import label_mapping, resolve_device, resolve_dtype
from textrobust.text.data import load_text_examples
from textrobust.text.model import resolve_model_name, text_classifier


def test_label_mapping_by_name_by_index_and_mismatches():
    assert label_mapping(["positive", "negative"], ["negative", "positive"]).tolist() == [1, 0]
    assert label_mapping(["Negative", "POSITIVE"], ["negative", "positive"]).tolist() == [0, 1]
    assert label_mapping(["LABEL_0", "LABEL_1"], ["negative", "positive"]).tolist() == [0, 1]
    assert label_mapping(["neg", "pos"], None, [0, 1, 1]).tolist() == [0, 1]
    with pytest.raises(UserError, match="model has 3 labels"):
        label_mapping(["a", "b", "c"], ["x", "y"])
    with pytest.raises(UserError, match="do not match"):
        label_mapping(["good", "bad"], ["negative", "positive"])
    with pytest.raises(UserError, match="label ids"):
        label_mapping(["LABEL_0", "LABEL_1"], None, [0, 1, 2])


def test_device_dtype_and_alias_errors():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device(None).type in ("cpu", "cuda", "mps")
    with pytest.raises(UserError, match="unknown device"):
        resolve_device("tpu9")
    with pytest.raises(UserError, match="needs a GPU"):
        resolve_dtype("bf16", resolve_device("cpu"))
    with pytest.raises(UserError, match="unknown dtype"):
        resolve_dtype("int3", resolve_device("cpu"))
    assert resolve_model_name("bert-base", "sst2") == "textattack/bert-base-uncased-SST-2"
    assert resolve_model_name("bert-base", "ag_news") == "textattack/bert-base-uncased-ag-news"
    with pytest.raises(UserError, match="picks a checkpoint for the dataset aliases sst2, ag_news, imdb"):
        resolve_model_name("bert-base", "../my-data")


def test_classifier_batches_agree_with_single_inputs(tiny_model):
    clf = text_classifier(str(tiny_model), dataset_label_names=None, dataset_labels=[0, 1])
    texts = ["good movie", "a very very boring plot with a bad actor and no story", "", "fun", "the worst film"]
    together = clf(texts)
    alone = np.concatenate([clf([t]) for t in texts])
    assert together.tolist() == alone.tolist()
    assert set(together.tolist()) <= {0, 1}


def test_offline_hub_names_fail_with_one_line(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserError) as err:
        text_classifier("no-such-org/no-such-model-xyz")
    assert "offline" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(UserError) as err:
        load_split("no-such-org/no-such-dataset-xyz")
    assert "offline" in str(err.value) and "\n" not in str(err.value)


def write_formats(tmp_path):
    rows = [{"review": f"text {i}", "sentiment": i % 2} for i in range(6)]
    paths = {}
    paths["csv"] = tmp_path / "d.csv"
    paths["csv"].write_text("review,sentiment\n" + "".join(f"{r['review']},{r['sentiment']}\n" for r in rows))
    paths["tsv"] = tmp_path / "d.tsv"
    paths["tsv"].write_text("review\tsentiment\n" + "".join(f"{r['review']}\t{r['sentiment']}\n" for r in rows))
    paths["jsonl"] = tmp_path / "d.jsonl"
    paths["jsonl"].write_text("".join(json.dumps(r) + "\n" for r in rows))
    paths["json"] = tmp_path / "d.json"
    paths["json"].write_text(json.dumps(rows))
    import datasets

    paths["parquet"] = tmp_path / "d.parquet"
    datasets.Dataset.from_list(rows).to_parquet(str(paths["parquet"]))
    paths["saved"] = tmp_path / "saved"
    datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)}).save_to_disk(str(paths["saved"]))
    return paths


def test_every_local_format_loads_with_detected_columns(tmp_path):
    for kind, path in write_formats(tmp_path).items():
        ex = load_text_examples(str(path))
        assert ex.texts == [f"text {i}" for i in range(6)], kind
        assert ex.labels == [i % 2 for i in range(6)], kind
        assert (ex.text_column, ex.label_column) == ("review", "sentiment")


def test_shared_sst2_twin(shared):
    ex = load_text_examples(str(shared / "data/sst2"), limit=5)
    assert ex.split == "validation" and ex.label_names == ["negative", "positive"] and ex.ids == [0, 1, 2, 3, 4]
    assert ex.texts[0].startswith("it 's a charming")
    tsv = load_text_examples(str(shared / "data/sst2/tsv/dev.tsv"), limit=5)
    assert tsv.texts == ex.texts and tsv.labels == ex.labels


def test_column_split_and_row_errors(tmp_path):
    path = write_formats(tmp_path)["csv"]
    with pytest.raises(UserError, match="no text column 'body'; columns are: review, sentiment"):
        load_text_examples(str(path), text_column="body")
    with pytest.raises(UserError, match="no split 'validation'; available: train"):
        load_text_examples(str(path), split="validation")
    with pytest.raises(UserError, match="--limit must be at least 1"):
        load_text_examples(str(path), limit=0)
    with pytest.raises(UserError, match="dataset path not found"):
        load_text_examples(str(tmp_path / "missing-dir"))
    (tmp_path / "empty.csv").write_text("text,label\n")
    with pytest.raises(UserError, match="empty"):
        load_text_examples(str(tmp_path / "empty.csv"))
    (tmp_path / "cols.csv").write_text("a,b\nx,1\n")
    with pytest.raises(UserError, match="--text-column"):
        load_text_examples(str(tmp_path / "cols.csv"))


def test_string_labels_become_sorted_names(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("text,label\na,pos\nb,neg\nc,pos\n")
    ex = load_text_examples(str(path), limit=1)
    assert ex.label_names == ["neg", "pos"] and ex.labels == [1] and ex.labels_from_strings


def test_shuffle_and_limit_keep_original_row_ids():
    assert select_rows(10, limit=3) == [0, 1, 2]
    shuffled = select_rows(10, limit=4, shuffle=True, seed=1)
    assert shuffled == select_rows(10, limit=4, shuffle=True, seed=1) and shuffled != [0, 1, 2, 3]
    assert select_rows(10, limit=4, shuffle=True, seed=2) != shuffled
