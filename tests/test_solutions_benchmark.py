"""solutions.benchmark on small workloads: it names NumPy's BLAS as threadpoolctl sees it, and times
implementations that agree with TensorFlow."""
import re

import pytest
import threadpoolctl

import solutions.benchmark as benchmark

pytest.importorskip("tensorflow")


def test_benchmark_reports_blas_and_ratios(monkeypatch, capsys):
    # two small layers, one thin and one wide enough for the chunked products
    monkeypatch.setattr(benchmark, "WORKLOADS", [("thin", (3, 9, 9, 1), 4), ("wide", (5, 12, 12, 16), 24)])
    benchmark.main(["--repeats", "3", "--loop-images", "1"])
    out = capsys.readouterr().out
    blas = [pool for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"]
    assert blas, "NumPy should have a BLAS library loaded"
    for pool in blas:
        assert f"blas: {pool['internal_api']} " in out
        assert f"kernel {pool.get('architecture') or 'kernel not reported'}" in out
    assert re.search(r"load average \d+\.\d", out)
    for name, shape, filters in benchmark.WORKLOADS:
        row = next(line for line in out.splitlines() if line.startswith(name))
        assert "x".join(map(str, shape)) + f" -> {filters} 3x3" in row
        # NumPy ms, TF ms, loops ms, NumPy/TF, pairs (two columns), loops/NumPy, max rel diff, load
        cells = row.split("3x3", 1)[1].split()
        numpy_ms, tf_ms, loops_ms = float(cells[0]), float(cells[1]), float(cells[2].rstrip("*"))
        assert 0 < numpy_ms < loops_ms and tf_ms > 0
        assert float(cells[7]) < 1e-4  # max relative difference from TensorFlow, float32
