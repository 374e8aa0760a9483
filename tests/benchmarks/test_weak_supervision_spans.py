"""weak_supervision_spans.py: SNIPS's hand-written rules follow the annotation convention,
and the summary reports the issue's arm against its target."""

from __future__ import annotations

import pytest

from tests.benchmarks.test_successor_models import BENCHMARKS


@pytest.fixture
def spans_benchmark(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import weak_supervision_spans

    return weak_supervision_spans


@pytest.fixture
def marked(spans_benchmark):
    """text → [(span text, type)] over every rule."""
    rules = spans_benchmark.rule_functions()

    def run(text: str) -> list[tuple[str, str]]:
        return sorted(
            (text[s.start : s.end], s.label) for rule in rules for s in rule.spans([text])[0]
        )

    return run


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The preposition stays outside a time or date span; "in" belongs to "in 2 hours".
        ("book a table at 5 pm", ("5 pm", "timeRange")),
        ("book it on june the 3rd", ("june the 3rd", "timeRange")),
        ("will it rain in 2 hours", ("in 2 hours", "timeRange")),
        ("weather one minute from now", ("one minute from now", "timeRange")),
        # The article stays outside a decade.
        ("songs from the fifties", ("fifties", "year")),
        (
            "a table for me and my mother in law",
            ("me and my mother in law", "party_size_description"),
        ),
        ("add this tune to my Chill Vibes playlist", ("Chill Vibes", "playlist")),
        # A name ending the sentence leaves its full stop out.
        ("Add Pimp C to my workout remix.", ("workout remix", "playlist")),
        ("play music by Chris Frantz.", ("Chris Frantz", "artist")),
        ("weather in Grey Eagle tomorrow", ("Grey Eagle", "city")),
        ("forecast for Baraga Oregon", ("Baraga", "city")),
    ],
)
def test_rules_mark_spans_as_snips_annotates_them(marked, text, expected):
    assert expected in marked(text)


@pytest.mark.parametrize(
    ("text", "not_expected"),
    [
        ("book a table at 5 pm", ("at 5 pm", "timeRange")),
        ("songs from the fifties", ("the fifties", "year")),
        # A year inside a date is the date's.
        ("weather on July 5, 2032", ("2032", "year")),
        # Postal codes only in capitals: "ok" is a word.
        ("ok play something", ("ok", "state")),
        # A country after "weather in" is not a city.
        ("what's the weather in Singapore", ("Singapore", "city")),
        # "around here" is a spatial relation; names in capitals are not sort words.
        ("what films are showing around here", ("here", "current_location")),
        ("play New York Melody", ("New", "sort")),
    ],
)
def test_rules_leave_out_what_snips_does_not_mark(marked, text, not_expected):
    assert not_expected not in marked(text)


def test_the_summary_measures_the_target_on_the_rules_and_gazetteers_arm(spans_benchmark):
    def scores(f1):
        return {"f1": f1, "precision": f1, "recall": f1}

    runs = [
        {"seed": 0, "gold": scores(0.50), "rules+gold": scores(0.62), "weak+gold": scores(0.58)},
        {"seed": 1, "gold": scores(0.54), "rules+gold": scores(0.64), "weak+gold": scores(0.66)},
    ]
    result = {
        "command": "python benchmarks/weak_supervision_spans.py",
        "gold": 100,
        "seeds": [0, 1],
        "n_pool": 6000,
        "n_rules": len(spans_benchmark.RULES),
        "gold_copies": 10,
        "learner": "CRFTagger(max_iterations=100)",
        "wall_seconds": 60.0,
        "machine": "test",
        "summary": spans_benchmark.summary(runs),
        "runs": runs,
    }
    table = spans_benchmark.markdown(result)
    assert (
        "Gain of gold ∪ weak (rules and gazetteers) over gold alone: +11.0 points of span F1 "
        "(per seed: +12.0, +10.0); target ≥ +10." in table
    )
    assert "Gain of gold ∪ weak (the gold CRF a function too) over gold alone: +10.0" in table
    assert "(10 copies each)" in table
