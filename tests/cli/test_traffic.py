"""``labelwise ingest`` (file and stdin) and ``labelwise service-tokens``."""

from __future__ import annotations

import json

import pytest


@pytest.mark.usefixtures("admin")
def test_ingest_a_file_then_stdin_counts_repeats_and_names_bad_lines(cli, tmp_path):
    path = tmp_path / "traffic.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps({"text": "set a timer", "external_id": "1"}),
                json.dumps({"text": "Set a TIMER", "external_id": "2"}),
                "",
                "{not json",
                json.dumps({"text": "translate hello", "confidence": 7}),
                json.dumps({"text": "translate hello", "external_id": "1"}),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    result = cli("ingest", "intents", str(path), "--batch-size", "2")
    assert result.exit_code == 1, result.output
    # accepted, new items, repeats, duplicate, rejected
    assert "│        2 │         1 │       1 │         1 │        2 │" in result.output
    assert "line 4, field '(line)': not JSON" in result.output
    assert "line 5, field 'confidence': must be a number from 0 to 1" in result.output

    piped = cli("ingest", "intents", "-", input=json.dumps({"text": "set a timer"}) + "\n")
    assert piped.exit_code == 0, piped.output
    assert "ingest of <stdin>" in piped.output


@pytest.mark.usefixtures("admin")
def test_ingest_a_missing_file_names_it(cli, tmp_path):
    result = cli("ingest", "intents", str(tmp_path / "nope.jsonl"))
    assert result.exit_code != 0
    assert "nope.jsonl" in result.output and "no such file" in result.output


@pytest.mark.usefixtures("admin")
def test_service_tokens_create_list_revoke(cli):
    created = cli("service-tokens", "create", "intents", "--name", "bot", "--scope", "ingest")
    assert created.exit_code == 0, created.output
    assert "lws_" in created.output
    listed = cli("service-tokens", "list", "intents")
    assert "bot" in listed.output and "ingest" in listed.output
    revoked = cli("service-tokens", "revoke", "intents", "1")
    assert revoked.exit_code == 0 and "revoked service token 1" in revoked.output
    bad = cli("service-tokens", "create", "intents", "--name", "bot", "--scope", "admin")
    assert bad.exit_code != 0 and "Unknown scope 'admin'" in bad.output
