"""``labelwise export-model``: a version's model written for use without the server."""

from __future__ import annotations

import json

import numpy as np
import pytest

from labelwise import load_model
from labelwise.service import model_versions
from labelwise.store import make_engine, make_session_factory

LABELS = ("translate", "timer", "transfer")


@pytest.fixture
def trained(cli, admin, clinc_dir, tmp_path):
    """The ``intents`` project with 12 labeled CLINC150 rows per intent and two versions."""
    rows: list[dict[str, str]] = []
    with (clinc_dir / "train.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if row["label"] in LABELS and sum(r["label"] == row["label"] for r in rows) < 12:
                rows.append(row)
    path = tmp_path / "labeled.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert cli("import", "intents", str(path), "--user", admin).exit_code == 0
    for _ in range(2):
        result = cli("retrain", "intents", "--data-dir", str(tmp_path / "data"))
        assert result.exit_code == 0, result.output
    return tmp_path


def test_the_newest_version_until_one_is_promoted(cli, trained, database_url):
    out = trained / "model"
    result = cli("export-model", "intents", str(out))
    assert result.exit_code == 0, result.output
    assert f"wrote model v2 of intents to {out}" in result.output
    assert "labelwise.load_model(" in result.output
    meta = json.loads((out / "model.json").read_text())
    # The recipe's features: the packaged MiniLM (pinned) beside the fitted TF-IDF.
    featurizer = meta["featurizer"]
    assert featurizer["kind"] == "concatenated"
    assert [featurizer["parts"][i]["kind"] for i in ("0", "1")] == ["minilm", "tfidf"]
    assert meta["task"] == {
        "kind": "single_label",
        "labels": list(LABELS),
        "entity_types": [],
    }
    assert sorted(p.name for p in out.iterdir()) == ["model.json", "model.npz"]

    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            model_versions.promote(session, project_id=1, version=1, user_id=None)
    finally:
        engine.dispose()
    promoted = cli("export-model", "1", str(trained / "production"))
    assert "wrote model v1 (production) of intents" in promoted.output
    texts = ["set a timer for ten minutes", "translate hello into french"]
    served = load_model(trained / "data" / "projects" / "1" / "models" / "v1")
    np.testing.assert_array_equal(
        load_model(trained / "production").predict_proba(texts), served.predict_proba(texts)
    )


def test_a_named_version_and_the_refusals(cli, trained):
    out = trained / "model"
    assert cli("export-model", "intents", str(out), "--version", "1").exit_code == 0
    again = cli("export-model", "intents", str(out))
    assert again.exit_code == 2 and "already holds a model" in again.output
    assert cli("export-model", "intents", str(out), "--force").exit_code == 0
    missing = cli("export-model", "intents", str(out), "--version", "7", "--force")
    assert missing.exit_code == 2 and "has no model version 7" in missing.output
    nowhere = cli("export-model", "nope", str(out))
    assert nowhere.exit_code == 2 and "nope" in nowhere.output
    zero = cli("export-model", "intents", str(out), "--version", "0")
    assert zero.exit_code == 2 and "--version" in zero.output


@pytest.mark.usefixtures("admin")
def test_a_project_without_a_model_says_so(cli, tmp_path):
    result = cli("export-model", "intents", str(tmp_path / "m"))
    assert result.exit_code == 2
    assert "has no model version yet" in result.output
    assert not (tmp_path / "m").exists()
