"""Benchmark results are named by the data set they ran on, so runs never overwrite."""

from __future__ import annotations

from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def test_results_of_another_data_set_get_its_name(monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from label_efficiency import results_stem

    # CLINC150's results keep the names they always had.
    assert results_stem("label_efficiency", Path("../shared/data/clinc150")) == "label_efficiency"
    assert results_stem("best_configuration", Path("/data/trec")) == "best_configuration_trec"
