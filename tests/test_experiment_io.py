"""The writers shared by the reproductions."""

import csv
import math

import numpy as np
import pytest

from ple_stats.experiments._io import write_csv


def test_write_csv_leaves_undefined_values_empty(tmp_path):
    rows = [{"model": "vae", "fid": 1.5, "fid_se": math.nan, "n": 3},
            {"model": "hyper-vae", "fid": np.float32("nan"), "fid_se": 0.25, "n": 3}]
    path = write_csv(tmp_path / "t.csv", rows)
    text = open(path).read()
    assert "nan" not in text.lower()
    got = list(csv.DictReader(open(path)))
    assert got[0] == {"model": "vae", "fid": "1.5", "fid_se": "", "n": "3"}
    assert got[1]["fid_se"] == "0.25" and got[1]["fid"] == ""


def test_write_csv_needs_rows(tmp_path):
    with pytest.raises(ValueError, match="no rows"):
        write_csv(tmp_path / "t.csv", [])
