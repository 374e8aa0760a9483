"""``benchmarks/pool_scale.py`` end to end on tiny pools: one in memory, one float16 file,
Dask on 1 and 2 workers and a lazy pool computed on the workers; what it writes is
checked, and the file it wrote is gone afterwards. About 20 s, most of it two clusters
starting; the timings of so small a run mean nothing and are not checked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_pool_scale_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    out, work = tmp_path / "results", tmp_path / "work"
    work.mkdir()
    command = [
        sys.executable,
        str(ROOT / "benchmarks" / "pool_scale.py"),
        "--sizes", "20000,60000",
        "--memory-max", "20000",
        "--huge", "70000",
        "--repeats", "1",
        "--workdir", str(work),
        "--out", str(out),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((out / "pool_scale.json").read_text(encoding="utf-8"))
    names = [row["name"] for row in report["rows"]]
    assert "floor (product) 0.02M float32 in memory" in names
    assert "floor (product) 0.06M float16 memmap" in names
    assert any(name.startswith("Dask 2 workers") and "lazy" in name for name in names)
    notes = " ".join(row.get("note", "") for row in report["rows"])
    # Every way of scoring chose the same 1,000 items.
    assert "same top-1000 as one process: True" in notes
    assert notes.count("threads: True") == 2
    assert all(row["seconds"] > 0 for row in report["rows"])
    assert (out / "pool_scale.md").read_text(encoding="utf-8").startswith("# Pool scale")
    assert list(work.iterdir()) == []  # the float16 file and the model were deleted
