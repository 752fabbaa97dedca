"""reproduce_fairness and reproduce_deep_madness end to end at a tiny size, caching, errors."""

import csv
import json
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ple_stats._lib.executor import execute  # noqa: E402
from ple_stats._lib.store import CheckpointStore  # noqa: E402
from ple_stats.experiments._deep_madness import reproduce_deep_madness  # noqa: E402
from ple_stats.experiments._fairness import (_subsample, load_digit_images,  # noqa: E402
                                             reproduce_fairness)

TINY = dict(quick=True, steps=3, n_generated=60, device="cpu", progress=False)


def _digits_subset(per_class=40):
    x, y = load_digit_images()
    keep = np.concatenate([np.flatnonzero(y == c)[:per_class] for c in range(10)])
    return x[keep], y[keep]


def _read_csv(path):
    with open(path) as fh:
        return list(csv.DictReader(fh))


def test_fairness_end_to_end_and_cache(tmp_path):
    x, y = _digits_subset()
    out = tmp_path / "fair"
    paths = reproduce_fairness(str(out), ratios=(2, 4), seeds=2, images=x, labels=y, **TINY)
    for key in ("markdown", "csv", "units_csv", "json"):
        assert os.path.getsize(paths[key]) > 0
    assert all(os.path.getsize(p) > 0 for p in paths["figure"])
    assert [os.path.splitext(p)[1] for p in paths["figure"]] == [".png", ".pdf"]
    table = _read_csv(paths["csv"])
    assert [(r["ratio"], r["model"]) for r in table] == [
        ("2", "vae"), ("2", "hyper-vae"), ("4", "vae"), ("4", "hyper-vae")]
    units = _read_csv(paths["units_csv"])
    assert len(units) == 8
    # the imbalance actually built: 40 majority images, round(40 / R) minority ones
    assert {(u["ratio"], u["n_train"], float(u["imbalance"])) for u in units} == {
        ("2", "60", 2.0), ("4", "50", 4.0)}
    for u in units:
        # R_fair is defined when both classes got at least two generated images (an FID needs
        # two); otherwise the cell is empty, never "nan". After 3 training steps the generated
        # images fall in one class, so this test checks the empty cells; the next test the
        # defined ratio.
        if int(u["n_minority"]) >= 2 and int(u["n_majority"]) >= 2:
            assert float(u["r_fair"]) == pytest.approx(
                float(u["fid_minority"]) / float(u["fid_majority"]))
        else:
            assert u["r_fair"] == "" and "nan" not in ",".join(u.values()).lower()
    meta = json.loads(open(paths["json"]).read())
    assert 0.5 < meta["classifier"]["test_accuracy"] <= 1.0
    assert meta["seeds"] == 2 and meta["ratios"] == [2, 4]
    md = open(paths["markdown"]).read()
    assert "R_fair" in md and "Hyper-VAE" in md
    # one cache file per (model, ratio, seed); a rerun reuses them and writes the same table
    cache = [f for d in (out / "cache").iterdir() for f in os.listdir(d)]
    assert sum(f.startswith("unit_hyper-vae-R4-s") for f in cache) == 2
    before = open(paths["units_csv"]).read()
    unit = next((out / "cache").glob("fairness-*/unit_vae-R2-s1.npz"))
    unit.unlink()  # as if interrupted before this unit finished
    reproduce_fairness(str(out), ratios=(2, 4), seeds=2, images=x, labels=y, **TINY)
    after = open(paths["units_csv"]).read()
    strip = (lambda text: [line.rsplit(",", 1)[0] for line in text.splitlines()])  # timings
    assert strip(after) == strip(before)


def test_cli_models_option_runs_the_ablation(tmp_path, capsys):
    from ple_stats.cli import main

    out = tmp_path / "cli"
    rc = main(["reproduce", "fairness", "--quick", "--ratios", "2", "--runs", "1", "--steps", "3",
               "--models", "vae", "hyper-vae-mle", "--device", "cpu", "--no-progress",
               "--out", str(out)])
    assert rc == 0
    table = _read_csv(out / "fairness.csv")
    assert [r["model"] for r in table] == ["vae", "hyper-vae-mle"]
    assert all(r["r_fair_se"] == "" for r in table)  # one seed: no standard error
    assert "wrote" in capsys.readouterr().out


def test_fairness_ratio_is_the_ratio_of_the_fids(tmp_path):
    # 100 VAE steps (about a second) are enough for both classes to be generated.
    x, y = _digits_subset()
    paths = reproduce_fairness(str(tmp_path / "f"), ratios=(2,), seeds=1, images=x, labels=y,
                               models=("vae",), **dict(TINY, steps=100))
    (unit,) = _read_csv(paths["units_csv"])
    assert int(unit["n_minority"]) >= 2 and int(unit["n_majority"]) >= 2
    assert float(unit["r_fair"]) == pytest.approx(
        float(unit["fid_minority"]) / float(unit["fid_majority"]), rel=1e-12)
    (row,) = _read_csv(paths["csv"])
    assert float(row["r_fair"]) == pytest.approx(float(unit["r_fair"]), rel=1e-12)
    assert row["r_fair_se"] == ""  # one seed: undefined, written empty


def test_subsample_is_seeded_and_exact():
    x, y = _digits_subset()
    a = _subsample(x, y, 3, 6, 5, [0, 1])
    b = _subsample(x, y, 3, 6, 5, [0, 1])
    c = _subsample(x, y, 3, 6, 5, [0, 2])
    assert np.array_equal(a[0], b[0])
    assert np.count_nonzero(a[1] == 3) == 40 and np.count_nonzero(a[1] == 6) == 8
    assert not np.array_equal(a[0], c[0])


def test_deep_madness_end_to_end(tmp_path):
    x, y = _digits_subset(20)
    paths = reproduce_deep_madness(str(tmp_path / "deep"), generations=3, seeds=1, images=x,
                                   labels=y, quick=True, steps=3, n_generated=50,
                                   device="cpu", progress=False)
    rows = _read_csv(paths["csv"])
    assert [(r["model"], r["generation"]) for r in rows] == [
        ("vae", "1"), ("vae", "2"), ("vae", "3"),
        ("hyper-vae", "1"), ("hyper-vae", "2"), ("hyper-vae", "3")]
    assert all(float(r["fid_mean"]) > 0 for r in rows)
    assert all(os.path.getsize(p) > 0 for p in paths["figure"])
    meta = json.loads(open(paths["json"]).read())
    assert meta["generations"] == 3
    gens = list((tmp_path / "deep" / "cache").glob("deep-madness-*/unit_hyper-vae-s0-g*.npz"))
    assert len(gens) == 3  # each generation cached for resumption


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"ratios": (0.5,)}, ValueError, r"ratios.*>= 1"),
    ({"ratios": (1,)}, ValueError, "too few images for the ratio"),
    ({"ratios": (30,)}, ValueError, "at least 2 are needed"),
    ({"majority": 11}, ValueError, "majority.*11.*does not occur"),
    ({"minority": "six"}, ValueError, "minority.*does not occur"),
    ({"majority": 3, "minority": 3}, ValueError, "must differ"),
    ({"models": ("vae", "gan")}, ValueError, "models"),
    ({"models": ("vae", "vae")}, ValueError, "`models` must be distinct"),
])
def test_fairness_bad_input(tmp_path, kwargs, exc, match):
    x, y = _digits_subset()
    # class 6 has only 40 images and class 3 has 40: R = 1 would need all 40 -> fine,
    # so drop a few minority images first to make R = 1 impossible.
    drop = np.flatnonzero(y == 6)[:5]
    x, y = np.delete(x, drop, axis=0), np.delete(y, drop)
    with pytest.raises(exc, match=match):
        reproduce_fairness(str(tmp_path), images=x, labels=y, **{**TINY, **kwargs})


def test_fairness_bad_images(tmp_path):
    x, y = _digits_subset()
    ragged = [np.zeros((8, 8))] * 5 + [np.zeros((7, 7))]
    with pytest.raises(ValueError, match="same size"):
        reproduce_fairness(str(tmp_path), images=ragged, labels=[3, 3, 3, 6, 6, 6], **TINY)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        reproduce_fairness(str(tmp_path), images=x * 16, labels=y, **TINY)
    with pytest.raises(ValueError, match="labels.*one label per image"):
        reproduce_fairness(str(tmp_path), images=x, labels=y[:-1], **TINY)
    with pytest.raises(ValueError, match="together"):
        reproduce_fairness(str(tmp_path), images=x, **TINY)


def _square(i, offset):
    return {"value": np.array([i * i + offset]), "name_len": i}


def test_generic_executor_with_named_store(tmp_path):
    names = ["a", "b", "c"]
    store = CheckpointStore(tmp_path / "s", {"k": 1}, names=names)
    out = execute(_square, [(i, 10) for i in range(3)], store=store, progress=False)
    assert [int(r["value"][0]) for r in out] == [10, 11, 14]
    assert sorted(os.listdir(tmp_path / "s")) == ["checkpoint.json", "unit_a.npz",
                                                  "unit_b.npz", "unit_c.npz"]
    again = execute(_square, [(i, 99) for i in range(3)], store=store,
                    progress=False)  # all loaded from the store, not recomputed
    assert [int(r["value"][0]) for r in again] == [10, 11, 14]
    assert again[2]["name_len"] == 2
    with pytest.raises(ValueError, match="different arguments"):
        CheckpointStore(tmp_path / "s", {"k": 2})
