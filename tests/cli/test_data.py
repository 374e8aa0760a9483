"""``labelwise import`` and ``labelwise export`` end to end on a CLINC150 slice."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from labelwise.cli.db import open_session, resolve_project
from labelwise.service import users
from labelwise.service.labeling_functions import create_labeling_function


def clinc_file(clinc_dir, tmp_path, n=60):
    rows = []
    with (clinc_dir / "train.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if row["label"] in {"translate", "timer", "transfer"}:
                rows.append(row)
            if len(rows) == n:
                break
    path = tmp_path / "clinc.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path, rows


def test_import_prints_the_report_and_export_round_trips(cli, admin, clinc_dir, tmp_path):
    path, rows = clinc_file(clinc_dir, tmp_path)
    result = cli("import", "intents", str(path), "--user", admin, "--source", "rule")
    assert result.exit_code == 0, result.output
    assert "import of clinc.jsonl" in result.output
    assert f"│   {len(rows)} │    {len(rows)} │" in result.output

    # The same file again: no item added, and its labels (same source) are not doubled.
    again = cli("import", "1", str(path), "--source", "rule")
    assert again.exit_code == 0 and "duplicates" in again.output
    assert f"{len(rows)} labels left out" in again.output

    out = tmp_path / "labels.parquet"
    exported = cli("export", "intents", str(out))
    assert exported.exit_code == 0, exported.output
    assert f"wrote {len(rows)} labels" in exported.output
    frame = pd.read_parquet(out)
    assert frame["text"].tolist() == [r["text"] for r in rows]
    assert frame["label"].tolist() == [r["label"] for r in rows]
    assert set(frame["source"]) == {"rule"} and set(frame["annotator"]) == {admin}


@pytest.mark.usefixtures("admin")
def test_import_an_evaluation_set(cli, clinc_dir, tmp_path):
    path, _ = clinc_file(clinc_dir, tmp_path, n=12)
    result = cli("import", "intents", str(path), "--evaluation")
    assert result.exit_code == 0, result.output
    assert "(held-out evaluation set)" in result.output
    status = cli("status", "intents").output
    rows_shown = {
        cells[0]: cells[1]
        for line in status.splitlines()
        if len(cells := [c.strip() for c in line.strip("│").split("│")]) == 2
    }
    assert rows_shown["evaluation items (held out)"] == "12"
    assert (rows_shown["items"], rows_shown["labeled items"]) == ("0", "0")


@pytest.mark.usefixtures("admin")
def test_a_bad_file_lists_every_bad_row_and_exits_2(cli, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("text,label\nok,timer\n[bold]markup[/bold],weather\nshort\n", encoding="utf-8")
    result = cli("import", "intents", str(path))
    assert result.exit_code == 2
    assert "2 bad rows; nothing was imported" in result.output
    assert "line 3, field 'label': unknown label 'weather'" in result.output
    assert "line 4, field 'label': expected 2 fields, found 1" in result.output
    assert "0" in cli("status", "intents").output

    skipped = cli("import", "intents", str(path), "--skip-bad-rows")
    assert skipped.exit_code == 0, skipped.output
    assert "skipped line 3, field 'label'" in skipped.output


@pytest.mark.usefixtures("admin")
def test_file_level_errors_show_the_location(cli, tmp_path):
    path = tmp_path / "nocol.csv"
    path.write_text("body\nhello\n", encoding="utf-8")
    result = cli("import", "intents", str(path))
    assert result.exit_code == 2
    assert f"{path}, line 1, field 'text': no 'text' column" in result.output.replace("\n", "")
    bad_export = cli("export", "intents", str(tmp_path / "labels.xlsx"))
    assert bad_export.exit_code == 2 and "xlsx" in bad_export.output


def test_export_refuses_to_overwrite_without_force(cli, admin, clinc_dir, tmp_path):
    path, rows = clinc_file(clinc_dir, tmp_path, n=6)
    assert cli("import", "intents", str(path), "--user", admin).exit_code == 0
    out = tmp_path / "labels.csv"
    out.write_text("precious\n", encoding="utf-8")
    refused = cli("export", "intents", str(out))
    assert refused.exit_code == 2
    assert str(out.resolve()) in refused.output and "--force" in refused.output
    assert out.read_text(encoding="utf-8") == "precious\n"
    forced = cli("export", "intents", str(out), "--force")
    assert forced.exit_code == 0, forced.output
    frame = pd.read_csv(out)
    assert len(frame) == len(rows) and "annotator_id" in frame and "is_audit" in frame


def test_export_with_skips_and_flags(cli, admin, clinc_dir, tmp_path):
    path, rows = clinc_file(clinc_dir, tmp_path, n=6)
    assert cli("import", "intents", str(path), "--user", admin).exit_code == 0
    out = tmp_path / "all.jsonl"
    result = cli("export", "intents", str(out), "--with-skips-and-flags")
    assert result.exit_code == 0, result.output
    assert f"wrote {len(rows)} rows" in result.output
    written = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert {r["kind"] for r in written} == {"label"} and "comment" in written[0]


def test_export_with_rules(cli, admin, database_url, clinc_dir, tmp_path):
    path, rows = clinc_file(clinc_dir, tmp_path, n=6)
    assert cli("import", "intents", str(path), "--user", admin).exit_code == 0
    spec = {"name": "kw_say", "kind": "keyword", "label": "translate", "keywords": ["say"]}
    with open_session(database_url) as session:
        project = resolve_project(session, "intents")
        owner = users.get_user(session, username=admin)
        create_labeling_function(session, project_id=project.id, spec=spec, user=owner)
    out = tmp_path / "rules.csv"
    result = cli("export", "intents", str(out), "--include", "rules")
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out)
    assert f"wrote {len(frame)} rows" in result.output
    assert frame["kind"].value_counts().to_dict() == {"label": len(rows), "rule": 5}
    votes = frame[frame["kind"] == "rule"]
    assert all("say" in text for text in votes["text"])
    assert set(votes["labeling_function"]) == {"kw_say"} and set(votes["source"]) == {"rule"}
    assert set(votes["labeling_function_version"]) == {1}
    bad = cli("export", "intents", str(tmp_path / "x.csv"), "--include", "bogus")
    assert bad.exit_code == 2 and "include may name" in bad.output
