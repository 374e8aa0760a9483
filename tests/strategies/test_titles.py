"""Readable strategy names for result tables."""

from labelwise.strategies import SEQUENCE_STRATEGIES, STRATEGIES, STRATEGY_TITLES, strategy_title


def test_every_strategy_a_person_can_pick_has_a_title():
    assert set(STRATEGY_TITLES) == set(STRATEGIES) | set(SEQUENCE_STRATEGIES)


def test_a_title_keeps_the_short_name_people_type():
    assert strategy_title("margin") == "Margin sampling (margin)"
    assert strategy_title("random") == "Random"
    assert strategy_title("my_arm") == "my_arm"
