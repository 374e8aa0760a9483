"""Labeling functions from JSON specs: TREC's shared rules as given, and located errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from labelwise.data import read_dataset
from labelwise.exceptions import InputError
from labelwise.weak import (
    KeywordFunction,
    RegexFunction,
    SimilarityFunction,
    ZeroShotFunction,
    analyze,
    apply_functions,
    function_from_spec,
    read_labeling_functions,
)


def test_trecs_shared_rules_behave_as_their_readme_says(trec_dir: Path):
    """The 68 third-party rules, applied as given to the 5,452 training questions."""
    functions = read_labeling_functions(trec_dir / "labeling_functions.jsonl")
    assert len(functions) == 68 and all(isinstance(f, RegexFunction) for f in functions)
    first = functions[0]
    assert isinstance(first, RegexFunction) and first.name == "trec_rule_01" and first.lowercase
    train = read_dataset(trec_dir / "train.jsonl", require_labels=True)
    classes = sorted(set(train.labels))
    matrix = apply_functions(functions, train.texts, classes)
    stats = analyze(matrix, gold=dict(enumerate(train.labels)))
    # README: fires on 95.0% of train questions, conflicting votes on 21.7%, 60.0% of all
    # votes right.
    assert round(stats.coverage, 3) == 0.950
    assert round(stats.conflict, 3) == 0.217
    right = sum(f.correct for f in stats.functions) / sum(f.votes for f in stats.functions)
    assert round(right, 3) == 0.600
    per_label = {c: sum(f.labels == (c,) for f in stats.functions) for c in classes}
    assert per_label == {"DESC": 17, "NUM": 14, "ENTY": 13, "HUM": 12, "LOC": 10, "ABBR": 2}


def _write(path: Path, *specs: object) -> Path:
    path.write_text(
        "".join((s if isinstance(s, str) else json.dumps(s)) + "\n" for s in specs),
        encoding="utf-8",
    )
    return path


def test_each_declarative_kind(tmp_path: Path):
    def embed(texts):
        return np.tile([1.0, 0.0], (len(texts), 1))

    path = _write(
        tmp_path / "lfs.jsonl",
        {"name": "kw", "kind": "keyword", "label": "balance", "keywords": ["balance"]},
        "",
        {"name": "re", "kind": "regex", "label": "balance", "pattern": "money", "flags": ""},
        {"name": "zs", "kind": "label_name", "label": "check_balance", "threshold": 0.5},
        {
            "name": "ex",
            "kind": "exemplar",
            "label": "balance",
            "exemplars": ["a"],
            "threshold": 0.7,
        },
        {"name": "all", "kind": "zero_shot", "labels": ["check_balance", "x"], "threshold": 0.3},
    )
    kw, re_, zs, ex, everything = read_labeling_functions(path, embed=embed)
    assert isinstance(kw, KeywordFunction) and isinstance(re_, RegexFunction)
    assert isinstance(zs, SimilarityFunction) and zs.source == ("check balance",)
    assert isinstance(ex, SimilarityFunction) and ex.threshold == 0.7
    assert isinstance(everything, ZeroShotFunction) and everything.source == ("check balance", "x")


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        ("{not json", None, "not valid JSON"),
        ('["a list"]', None, "a labeling function is a JSON object"),
        ('{"kind": "keyword", "label": "x", "keywords": ["a"]}', "name", "missing 'name'"),
        ('{"name": "n", "kind": "sql", "label": "x"}', "kind", "unknown kind 'sql'"),
        ('{"name": "n", "kind": "keyword", "label": "x", "keywords": "a"}', "keywords", "list"),
        ('{"name": "n", "kind": "regex", "label": "x", "pattern": "(a"}', "pattern", "compile"),
        (
            '{"name": "n", "kind": "regex", "label": "x", "pattern": "a", "flags": "i"}',
            "flags",
            "'flags' must be one of",
        ),
        ('{"name": "n", "kind": "label_name", "label": "x", "threshold": 0.5}', "kind", "embedder"),
        ('{"name": "n", "kind": "keyword", "label": 3, "keywords": ["a"]}', "label", "str"),
        ('{"name": "n", "kind": "zero_shot", "labels": ["a"], "threshold": 0.5}', "labels", "two"),
        ('{"name": "n", "kind": "zero_shot", "labels": ["a", "a"]}', "labels", "twice"),
        ('{"name": "n", "kind": "zero_shot", "labels": ["a", "b"]}', "kind", "embedder"),
    ],
)
def test_a_bad_spec_names_the_file_line_and_field(tmp_path: Path, line, field, message):
    good = {"name": "ok", "kind": "keyword", "label": "x", "keywords": ["a"]}
    path = _write(tmp_path / "lfs.jsonl", good, line)
    with pytest.raises(InputError, match=message) as caught:
        read_labeling_functions(path)
    assert (caught.value.file, caught.value.line, caught.value.field) == (str(path), 2, field)


def test_two_specs_with_one_name_are_refused_at_the_second(tmp_path: Path):
    spec = {"name": "same", "kind": "keyword", "label": "x", "keywords": ["a"]}
    path = _write(tmp_path / "lfs.jsonl", spec, spec)
    with pytest.raises(InputError, match="a second function named 'same'") as caught:
        read_labeling_functions(path)
    assert caught.value.line == 2


def test_a_threshold_is_a_cosine():
    spec = {"name": "zs", "kind": "label_name", "label": "x", "threshold": 2}
    with pytest.raises(InputError, match=r"cosine in \[-1, 1\]"):
        function_from_spec(spec, embed=lambda texts: np.ones((len(texts), 2)))
