"""bench/gpu_check.py in its tiny mode (CPU): the one-call accelerator script cannot rot (slow: ~100 s CPU)."""
import importlib.util
import json
import os

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.mark.slow
def test_gpu_check_tiny(tmp_path):
    spec = importlib.util.spec_from_file_location("gpu_check", os.path.join(HERE, "..", "bench", "gpu_check.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rep = mod.main(["--tiny", "--out-dir", str(tmp_path)])
    det = rep["determinism"]
    assert det["chunked_equals_unchunked"] and det["same_key_equal"] and det["other_key_differs"]
    kernels = [r["kernel"] for r in rep["throughput"]]  # one row per kernel and stream at the one tiny size
    assert kernels == list(mod._systems(8)) and all(r["per_second"] > 0 for r in rep["throughput"])
    assert {"ris-scheduling (pcg)", "ris-scheduling (threefry)", "wiretap (pcg)", "lv-two-way (pcg)"} <= set(kernels)
    assert [b["realisations"] for b in rep["big_runs"]] == [2**14, 2**14]
    saved = json.loads((tmp_path / "RESULTS_gpu.json").read_text())
    assert saved["device"]["backend"] == rep["device"]["backend"]
    assert "tiny mode" in (tmp_path / "RESULTS_gpu.md").read_text()
