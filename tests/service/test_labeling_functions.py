"""Labeling functions in a project: versions, live numbers checked by hand, regex time limits,
incremental application, suggestions, and weak labels kept out of the queue, the retrain
cadence and the exports (on SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import pytest
from sqlalchemy import func, insert, select, update

from labelwise.service import exports, projects, queue
from labelwise.service.errors import ConflictError, NotFoundError, ValidationError
from labelwise.service.labeling_functions import (
    create_labeling_function,
    delete_labeling_function,
    list_labeling_functions,
    list_versions,
    update_labeling_function,
)
from labelwise.service.sentence_vectors import SentenceVectors
from labelwise.service.snapshot import take_snapshot
from labelwise.service.transactions import begin_write
from labelwise.service.weak_analysis import (
    list_weak_labels,
    preview_labeling_function,
    weak_coverage,
)
from labelwise.service.weak_labels import LabelingFunctionSpecError
from labelwise.service.weak_suggestions import (
    accept_suggestion,
    list_suggestions,
    reject_suggestion,
)
from labelwise.store import Item, Job, LabelingFunctionRecord, TaskType, WeakLabel
from labelwise.weak.functions import KeywordFunction
from tests.service.pool_factory import make_project, make_user
from tests.service.word_embedder import WordEmbedder

FRIEND = {"name": "kw_friend", "kind": "keyword", "label": "greet", "keywords": ["friend"]}
BYE = {"name": "kw_bye", "kind": "keyword", "label": "bye", "keywords": ["bye", "goodbye"]}
FAREWELL = {"name": "kw_farewell", "kind": "keyword", "label": "bye", "keywords": ["farewell"]}
WEATHER = {"name": "rx_weather", "kind": "regex", "label": "weather", "pattern": r"weather|rain"}


@pytest.fixture
def setup(session: Any) -> Any:
    """15 items (5 phrases of greet, bye and weather, once each) and their owner."""
    owner = make_user(session, "owner")
    project, truth = make_project(session, owner, copies=1)
    return project, truth, owner


def _item(session: Any, project: Any, text: str) -> int:
    """The id of the item ``text`` (the factory's items end in " 0")."""
    item_id = session.scalar(
        select(Item.id).where(Item.project_id == project.id, Item.text.in_([text, f"{text} 0"]))
    )
    session.commit()
    return int(item_id)


def _label(session: Any, project: Any, who: Any, text: str, value: str) -> None:
    item_id = _item(session, project, text)
    queue.submit_annotation(
        session, project_id=project.id, annotator=who, item_id=item_id, value=value
    )


def _add_item(session: Any, project: Any, text: str) -> int:
    begin_write(session)
    position = session.scalar(select(func.count()).where(Item.project_id == project.id))
    session.execute(
        insert(Item),
        [
            {
                "project_id": project.id,
                "position": position,
                "text": text,
                "meta": {},
                "source": "test",
                "content_hash": hashlib.sha256(text.encode()).hexdigest(),
                "is_audit": False,
            }
        ],
    )
    return _item(session, project, text)


def _edit(session: Any, project: Any, owner: Any, made: Any, changes: dict[str, Any]) -> Any:
    return update_labeling_function(
        session, project_id=project.id, function_id=made.id, user=owner, changes=changes
    )


def _create(session: Any, project: Any, owner: Any, spec: dict[str, Any]) -> Any:
    return create_labeling_function(session, project_id=project.id, spec=spec, user=owner)


def _stats(session: Any, project: Any) -> dict[str, Any]:
    report = list_labeling_functions(session, project_id=project.id)
    return {f.name: f for f in report.functions}


class TestCreateEditDelete:
    def test_a_new_function_is_version_one_and_votes_on_its_items(self, session, setup):
        project, _, owner = setup
        made = _create(session, project, owner, FRIEND)
        assert (made.name, made.kind, made.label, made.version) == (
            "kw_friend",
            "keyword",
            "greet",
            1,
        )
        assert made.enabled and made.origin == "person" and made.created_by == "owner"
        assert made.spec == {**FRIEND, "keywords": ["friend"]}
        voted = session.scalars(
            select(Item.text).join(WeakLabel, WeakLabel.item_id == Item.id)
        ).all()
        session.commit()
        assert sorted(voted) == ["farewell friend 0", "hi friend 0"]

    def test_an_edit_is_a_new_version_kept_in_the_history(self, session, setup):
        project, _, owner = setup
        made = _create(session, project, owner, FRIEND)
        edited = _edit(session, project, owner, made, {"keywords": ["hi", "hello"]})
        assert edited.version == 2 and edited.stats.votes == 2
        history = list_versions(session, project_id=project.id, function_id=made.id)
        assert [(v.version, v.spec["keywords"]) for v in history] == [
            (1, ["friend"]),
            (2, ["hi", "hello"]),
        ]
        assert {v.edited_by for v in history} == {"owner"}
        versions = set(session.scalars(select(WeakLabel.version)))
        session.commit()
        assert versions == {2}

    def test_switching_the_kind_keeps_only_the_new_kinds_keys(self, session, setup):
        project, _, owner = setup
        made = _create(session, project, owner, FRIEND)
        edited = _edit(session, project, owner, made, {"kind": "regex", "pattern": "^hi"})
        assert edited.spec == {
            "name": "kw_friend",
            "kind": "regex",
            "label": "greet",
            "pattern": "^hi",
        }

    def test_disabling_keeps_the_version_and_leaves_the_combined_coverage(self, session, setup):
        project, _, owner = setup
        made = _create(session, project, owner, FRIEND)
        off = update_labeling_function(
            session, project_id=project.id, function_id=made.id, user=owner, enabled=False
        )
        assert not off.enabled and off.version == 1
        assert off.stats.votes == 2  # its own numbers are still shown
        report = list_labeling_functions(session, project_id=project.id)
        assert report.coverage == 0.0
        assert weak_coverage(session, project_id=project.id).weak == 0

    def test_delete_removes_the_function_and_its_votes(self, session, setup):
        project, _, owner = setup
        made = _create(session, project, owner, FRIEND)
        delete_labeling_function(session, project_id=project.id, function_id=made.id, user=owner)
        assert list_labeling_functions(session, project_id=project.id).functions == []
        assert session.scalar(select(func.count()).select_from(WeakLabel)) == 0
        session.commit()
        with pytest.raises(NotFoundError):
            delete_labeling_function(
                session, project_id=project.id, function_id=made.id, user=owner
            )

    def test_a_second_function_with_one_name_is_a_conflict(self, session, setup):
        project, _, owner = setup
        _create(session, project, owner, FRIEND)
        with pytest.raises(ConflictError, match="kw_friend"):
            _create(session, project, owner, {**BYE, "name": "kw_friend"})
        other = _create(session, project, owner, BYE)
        with pytest.raises(ConflictError):
            update_labeling_function(
                session,
                project_id=project.id,
                function_id=other.id,
                user=owner,
                changes={"name": "kw_friend"},
            )

    @pytest.mark.parametrize(
        ("spec", "field"),
        [
            ({**FRIEND, "label": "nope"}, "label"),
            ({**FRIEND, "keywords": "friend"}, "keywords"),
            ({**FRIEND, "keywords": ["  "]}, "keywords"),
            ({k: v for k, v in FRIEND.items() if k != "name"}, "name"),
            ({**FRIEND, "kind": "python"}, "kind"),
            ({**FRIEND, "kind": "exemplar", "exemplars": ["hi"], "threshold": 0.5}, "kind"),
            ({**WEATHER, "pattern": "(unclosed"}, "pattern"),
            ({**WEATHER, "flags": "dotall"}, "flags"),
            ({**FRIEND, "name": "x" * 201}, "name"),
        ],
    )
    def test_a_bad_spec_is_refused_naming_the_field(self, session, setup, spec, field):
        project, _, owner = setup
        with pytest.raises(LabelingFunctionSpecError) as caught:
            _create(session, project, owner, spec)
        assert isinstance(caught.value, ValidationError)
        assert caught.value.field == field
        assert list_labeling_functions(session, project_id=project.id).functions == []

    def test_only_single_label_projects_take_functions(self, session):
        owner = make_user(session, "owner")
        project, _ = make_project(session, owner, copies=1, task=TaskType.MULTI_LABEL)
        with pytest.raises(ValidationError, match="single-label"):
            _create(session, project, owner, FRIEND)


class TestRegexTimeLimit:
    def test_a_catastrophic_pattern_is_refused_without_hanging(self, session, setup):
        project, _, owner = setup
        started = time.monotonic()
        with pytest.raises(LabelingFunctionSpecError) as caught:
            _create(session, project, owner, {**WEATHER, "pattern": "(a|aa)+$"})
        assert caught.value.field == "pattern"
        assert time.monotonic() - started < 5
        assert session.scalar(select(func.count()).select_from(LabelingFunctionRecord)) == 0
        session.commit()

    def test_a_pattern_that_hangs_on_an_item_is_refused(self, session, setup):
        project, _, owner = setup
        _add_item(session, project, "q" * 40 + "b")
        with pytest.raises(LabelingFunctionSpecError, match="took longer") as caught:
            _create(session, project, owner, {**WEATHER, "pattern": "(q|qq)+$"})
        assert caught.value.field == "pattern"

    def test_a_saved_pattern_that_hangs_on_a_new_item_stops_with_its_error(self, session, setup):
        project, _, owner = setup
        made = _create(session, project, owner, {**WEATHER, "pattern": "(q|qq)+$"})
        _add_item(session, project, "q" * 40 + "b")
        started = time.monotonic()
        [failed] = list_labeling_functions(session, project_id=project.id).functions
        assert time.monotonic() - started < 5
        assert failed.id == made.id and not failed.enabled
        assert "took longer" in (failed.error or "") and failed.stats.votes == 0
        with pytest.raises(ConflictError, match="edit it first"):
            update_labeling_function(
                session, project_id=project.id, function_id=made.id, user=owner, enabled=True
            )
        fixed = update_labeling_function(
            session,
            project_id=project.id,
            function_id=made.id,
            user=owner,
            changes={"pattern": "weather"},
        )
        assert fixed.enabled and fixed.error is None and fixed.stats.votes == 1


class TestLiveNumbers:
    def test_coverage_overlap_conflict_and_accuracy_by_hand(self, session, setup):
        project, _, owner = setup
        for spec in (FRIEND, BYE, FAREWELL, WEATHER):
            _create(session, project, owner, spec)
        _label(session, project, owner, "hi friend", "greet")
        _label(session, project, owner, "farewell friend", "bye")
        _label(session, project, owner, "goodbye now", "bye")
        _label(session, project, owner, "cold outside", "weather")
        stats = _stats(session, project)
        friend = stats["kw_friend"].stats  # hi friend (greet), farewell friend (bye)
        assert friend.votes == 2 and friend.coverage == pytest.approx(2 / 15)
        assert friend.overlap == pytest.approx(1 / 15) and friend.conflict == pytest.approx(1 / 15)
        assert (friend.gold_votes, friend.correct, friend.accuracy) == (2, 1, 0.5)
        assert 0 < friend.accuracy_low < 0.5 < friend.accuracy_high < 1
        bye = stats["kw_bye"].stats  # goodbye now, bye bye
        assert (bye.votes, bye.overlap, bye.gold_votes, bye.correct) == (2, 0.0, 1, 1)
        weather = stats["rx_weather"].stats  # is it raining, weather today
        assert (weather.votes, weather.gold_votes, weather.accuracy) == (2, 0, None)
        report = list_labeling_functions(session, project_id=project.id)
        assert report.coverage == pytest.approx(6 / 15)
        assert report.conflict == pytest.approx(1 / 15)
        assert (report.n_items, report.gold_items, report.audit_items) == (15, 4, 0)
        assert stats["kw_friend"].audit is None

    def test_accuracy_on_the_audit_sample_is_reported_apart(self, session, setup):
        project, _, owner = setup
        _create(session, project, owner, FRIEND)
        begin_write(session)
        session.execute(update(Item).where(Item.text == "hi friend 0").values(is_audit=True))
        session.commit()
        _label(session, project, owner, "hi friend", "greet")
        _label(session, project, owner, "farewell friend", "bye")
        friend = _stats(session, project)["kw_friend"]
        assert (friend.stats.gold_votes, friend.stats.correct) == (2, 1)
        assert friend.audit is not None
        assert (friend.audit.gold_votes, friend.audit.correct, friend.audit.accuracy) == (1, 1, 1.0)

    def test_the_numbers_follow_new_labels(self, session, setup):
        project, _, owner = setup
        _create(session, project, owner, FRIEND)
        assert _stats(session, project)["kw_friend"].stats.gold_votes == 0
        _label(session, project, owner, "hi friend", "greet")
        assert _stats(session, project)["kw_friend"].stats.accuracy == 1.0

    def test_a_preview_stores_nothing_and_names_its_conflicts(self, session, setup):
        project, _, owner = setup
        _create(session, project, owner, FRIEND)
        _label(session, project, owner, "farewell friend", "bye")
        preview = preview_labeling_function(session, project_id=project.id, spec=FAREWELL)
        assert preview.stats.votes == 1 and preview.stats.correct == 1
        assert [(h.text, h.gold) for h in preview.sample] == [("farewell friend 0", "bye")]
        assert preview.conflicts == {"kw_friend": 1}
        assert [
            f.name for f in list_labeling_functions(session, project_id=project.id).functions
        ] == ["kw_friend"]
        # Previewing an edit of a saved function leaves the saved one out.
        edit = preview_labeling_function(
            session, project_id=project.id, spec={**FRIEND, "keywords": ["hi"]}
        )
        assert edit.conflicts == {} and edit.stats.votes == 1

    def test_a_preview_refuses_a_catastrophic_pattern(self, session, setup):
        project, _, _ = setup
        with pytest.raises(LabelingFunctionSpecError) as caught:
            preview_labeling_function(
                session, project_id=project.id, spec={**WEATHER, "pattern": "(x|xx)+y"}
            )
        assert caught.value.field == "pattern"

    def test_weak_against_gold_coverage(self, session, setup):
        project, _, owner = setup
        _create(session, project, owner, FRIEND)
        _label(session, project, owner, "hi friend", "greet")
        _label(session, project, owner, "cold outside", "weather")
        coverage = weak_coverage(session, project_id=project.id)
        assert (coverage.n_items, coverage.human, coverage.weak) == (15, 2, 2)
        assert (coverage.both, coverage.neither) == (1, 12)
        assert (coverage.functions, coverage.enabled) == (1, 1)


class TestIncrementalApplication:
    @pytest.fixture
    def applied(self, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
        """(function name, texts) of every keyword application (probe texts left out)."""
        calls: list[tuple[str, int]] = []
        original = KeywordFunction.apply

        def spy(self: KeywordFunction, texts: Any, **kwargs: Any) -> Any:
            if not any(t.endswith("!") for t in texts):
                calls.append((self.name, len(texts)))
            return original(self, texts, **kwargs)

        monkeypatch.setattr(KeywordFunction, "apply", spy)
        return calls

    def test_new_items_only_are_applied_to_current_functions(self, session, setup, applied):
        project, _, owner = setup
        _create(session, project, owner, FRIEND)
        _create(session, project, owner, BYE)
        applied.clear()
        list_labeling_functions(session, project_id=project.id)
        assert applied == []  # nothing new
        new_id = _add_item(session, project, "bye my friend")
        stats = _stats(session, project)
        assert sorted(applied) == [("kw_bye", 1), ("kw_friend", 1)]
        assert stats["kw_friend"].stats.votes == 3 and stats["kw_bye"].stats.votes == 3
        voters = set(
            session.scalars(select(WeakLabel.function_id).where(WeakLabel.item_id == new_id))
        )
        session.commit()
        assert voters == {stats["kw_friend"].id, stats["kw_bye"].id}

    def test_an_edit_applies_only_that_function_again(self, session, setup, applied):
        project, _, owner = setup
        friend = _create(session, project, owner, FRIEND)
        bye = _create(session, project, owner, BYE)
        applied.clear()
        update_labeling_function(
            session,
            project_id=project.id,
            function_id=friend.id,
            user=owner,
            changes={"keywords": ["hi"]},
        )
        list_labeling_functions(session, project_id=project.id)
        assert applied == [("kw_friend", 15)]
        versions = dict(session.execute(select(WeakLabel.function_id, WeakLabel.version)).all())
        session.commit()
        assert versions == {friend.id: 2, bye.id: 1}


class TestSuggestions:
    @pytest.fixture
    def labeled(self, session: Any) -> Any:
        """A project of 60 items, all labeled: "it" occurs in weather items only."""
        owner = make_user(session, "lead")
        project, truth = make_project(session, owner, copies=4, name="suggest")
        for item_id, label in truth.items():
            queue.submit_annotation(
                session, project_id=project.id, annotator=owner, item_id=item_id, value=label
            )
        return project, owner

    def test_keyword_suggestions_come_from_the_human_labels(self, session, labeled):
        project, _ = labeled
        suggested = list_suggestions(session, project_id=project.id)
        keys = {s.key for s in suggested}
        assert "kw_weather_it" in keys
        best = next(s for s in suggested if s.key == "kw_weather_it")
        assert best.suggestion.spec["keywords"] == ["it"]
        assert best.suggestion.precision == 1.0 and best.suggestion.gold_votes == 8
        assert {s.suggestion.label for s in suggested} <= {"greet", "bye", "weather"}

    def test_an_accepted_suggestion_becomes_a_function_and_is_not_offered_again(
        self, session, labeled
    ):
        project, owner = labeled
        made = accept_suggestion(session, project_id=project.id, key="kw_weather_it", user=owner)
        assert made.origin == "suggestion" and made.stats.votes == 8
        assert made.stats.accuracy == 1.0
        keys = {s.key for s in list_suggestions(session, project_id=project.id)}
        assert "kw_weather_it" not in keys
        with pytest.raises(NotFoundError):
            accept_suggestion(session, project_id=project.id, key="kw_weather_it", user=owner)

    def test_a_rejected_suggestion_is_not_offered_again(self, session, labeled):
        project, owner = labeled
        first = list_suggestions(session, project_id=project.id)[0].key
        reject_suggestion(session, project_id=project.id, key=first, user=owner)
        assert first not in {s.key for s in list_suggestions(session, project_id=project.id)}
        assert list_labeling_functions(session, project_id=project.id).functions == []
        with pytest.raises(NotFoundError):
            reject_suggestion(session, project_id=project.id, key=first, user=owner)


class TestWeakLabelsAreNotAnnotations:
    @pytest.fixture
    def covered(self, session: Any, setup: Any) -> Any:
        """Every item of the project has a weak vote."""
        project, truth, owner = setup
        _create(
            session,
            project,
            owner,
            {"name": "rx_all", "kind": "regex", "label": "greet", "pattern": r"\d"},
        )
        assert weak_coverage(session, project_id=project.id).weak == 15
        return project, truth, owner

    def test_items_with_weak_votes_are_still_served_and_not_completed(self, session, covered):
        project, _, owner = covered
        status = projects.project_status(session, project_id=project.id)
        assert (status.labeled_items, status.annotations) == (0, 0)
        served = set()
        while (
            lease := queue.lease_next(session, project_id=project.id, annotator=owner)
        ) is not None:
            served.add(lease.item_id)
            queue.skip_item(session, project_id=project.id, annotator=owner, item_id=lease.item_id)
        all_items = set(session.scalars(select(Item.id).where(Item.project_id == project.id)))
        session.commit()
        assert served == all_items

    def test_weak_votes_do_not_count_toward_a_retrain(self, session, setup):
        project, truth, owner = setup
        for item_id in sorted(truth)[:4]:
            queue.submit_annotation(
                session,
                project_id=project.id,
                annotator=owner,
                item_id=item_id,
                value=truth[item_id],
            )
        before = take_snapshot(session, project.id)
        session.rollback()
        _create(
            session,
            project,
            owner,
            {"name": "rx_all", "kind": "regex", "label": "bye", "pattern": "."},
        )
        list_labeling_functions(session, project_id=project.id)
        after = take_snapshot(session, project.id)
        session.rollback()
        assert after.label_count == before.label_count == 4
        assert after.positions.tolist() == before.positions.tolist()
        assert after.values == before.values
        jobs = session.scalar(
            select(func.count()).select_from(Job).where(Job.project_id == project.id)
        )
        session.commit()
        assert jobs == 0  # min_labels is 6: four human labels plus 15 weak votes queue nothing

    def test_exports_hold_the_human_labels_only(self, session, setup):
        project, truth, owner = setup
        first = sorted(truth)[0]
        queue.submit_annotation(
            session, project_id=project.id, annotator=owner, item_id=first, value="bye"
        )
        before = exports.list_labels(session, project_id=project.id)
        _create(
            session,
            project,
            owner,
            {"name": "rx_all", "kind": "regex", "label": "greet", "pattern": "."},
        )
        after = exports.list_labels(session, project_id=project.id)
        assert after == before
        assert [(r.item_id, r.label, r.source) for r in after] == [(first, "bye", "human")]

    def test_weak_labels_are_listed_apart_with_their_function_and_version(self, session, setup):
        project, _, owner = setup
        friend = _create(session, project, owner, FRIEND)
        _create(session, project, owner, FAREWELL)
        update_labeling_function(
            session,
            project_id=project.id,
            function_id=friend.id,
            user=owner,
            changes={"keywords": ["friend", "hello"]},
        )
        listed = list_weak_labels(session, project_id=project.id)
        assert [(w.text, w.source) for w in listed] == [
            ("hello there 0", "rule"),
            ("hi friend 0", "rule"),
            ("farewell friend 0", "rule"),
        ]
        assert [(v.function, v.version, v.label) for v in listed[2].votes] == [
            ("kw_friend", 2, "greet"),
            ("kw_farewell", 1, "bye"),
        ]
        assert [w.text for w in list_weak_labels(session, project_id=project.id, offset=2)] == [
            "farewell friend 0"
        ]


class CountingWords(WordEmbedder):
    """The fake MiniLM (hashed words), counting the texts it is asked to embed."""

    def __init__(self) -> None:
        super().__init__(256)
        self.embedded: list[str] = []

    def transform(self, texts):
        self.embedded.extend(texts)
        return super().transform(texts)


LABEL_NAME = {"name": "zs_weather", "kind": "label_name", "label": "weather", "threshold": 0.5}
EXEMPLAR = {
    "name": "ex_bye",
    "kind": "exemplar",
    "label": "bye",
    "exemplars": ["bye bye"],
    "threshold": 0.8,
}
ZERO_SHOT = {
    "name": "zero_shot",
    "kind": "zero_shot",
    "labels": ["bye", "greet", "weather"],
    "threshold": 0.55,
}


def _votes(session: Any, function_id: int) -> dict[str, tuple[int, str]]:
    """Item text → (version, label) of one function's stored votes."""
    rows = session.execute(
        select(Item.text, WeakLabel.version, WeakLabel.label)
        .join(WeakLabel, WeakLabel.item_id == Item.id)
        .where(WeakLabel.function_id == function_id)
    ).all()
    session.commit()
    return {text: (version, label) for text, version, label in rows}


class TestSimilarityFunctions:
    """label_name, exemplar and zero_shot functions, where the project has sentence features
    (the fake embedder stands in for MiniLM: hashed words, so cosines are known)."""

    @pytest.fixture
    def words(self) -> CountingWords:
        return CountingWords()

    @pytest.fixture
    def sentences(self, words: CountingWords) -> SentenceVectors:
        return SentenceVectors(lambda: words)

    @pytest.fixture
    def minilm(self, session: Any) -> Any:
        owner = make_user(session, "owner")
        project, _ = make_project(session, owner, copies=1, settings={"features": "minilm"})
        return project, owner

    def _create(self, session, minilm, spec, sentences):
        project, owner = minilm
        return create_labeling_function(
            session, project_id=project.id, spec=spec, user=owner, sentences=sentences
        )

    def test_each_kind_votes_by_cosine_and_its_votes_are_stored(self, session, minilm, sentences):
        # "weather today 0" against "weather": 1/sqrt(3) ≈ 0.58; "bye bye 0" against
        # "bye bye": 2/sqrt(5) ≈ 0.89; no other item comes as close to an anchor (one word
        # of "is it raining 0" shares "bye"'s hash: 0.5).
        named = self._create(session, minilm, LABEL_NAME, sentences)
        exemplar = self._create(session, minilm, EXEMPLAR, sentences)
        zero_shot = self._create(session, minilm, ZERO_SHOT, sentences)
        assert _votes(session, named.id) == {"weather today 0": (1, "weather")}
        assert _votes(session, exemplar.id) == {"bye bye 0": (1, "bye")}
        assert _votes(session, zero_shot.id) == {
            "weather today 0": (1, "weather"),
            "bye bye 0": (1, "bye"),
        }
        assert (named.label, named.stats.votes) == ("weather", 1)
        # One function over every label: the label column says so, the spec has ``labels``.
        assert (zero_shot.kind, zero_shot.label, zero_shot.stats.votes) == ("zero_shot", "*", 2)
        assert zero_shot.spec == ZERO_SHOT
        stored = session.scalar(
            select(LabelingFunctionRecord.label).where(LabelingFunctionRecord.id == zero_shot.id)
        )
        session.commit()
        assert stored == "*"

    def test_an_edit_applies_again_and_new_items_alone_are_embedded(
        self, session, minilm, sentences, words
    ):
        project, owner = minilm
        made = self._create(session, minilm, EXEMPLAR, sentences)
        edited = update_labeling_function(
            session,
            project_id=project.id,
            function_id=made.id,
            user=owner,
            changes={"exemplars": ["farewell friend"]},
            sentences=sentences,
        )
        assert edited.version == 2
        assert _votes(session, made.id) == {"farewell friend 0": (2, "bye")}
        words.embedded.clear()
        _add_item(session, project, "farewell my friend")
        listed = list_labeling_functions(session, project_id=project.id, sentences=sentences)
        # Of the items only the new one (the other votes stand); the anchor is embedded
        # whenever the function is built (MiniLM's disk cache answers it).
        assert [t for t in words.embedded if t != "farewell friend"] == ["farewell my friend"]
        assert listed.functions[0].stats.votes == 2
        assert _votes(session, made.id)["farewell my friend"] == (2, "bye")

    def test_a_preview_of_a_zero_shot_function(self, session, minilm, sentences):
        project, _ = minilm
        preview = preview_labeling_function(
            session, project_id=project.id, spec=ZERO_SHOT, sentences=sentences
        )
        assert preview.stats.votes == 2
        assert {hit.text for hit in preview.sample} == {"weather today 0", "bye bye 0"}

    @pytest.mark.parametrize(
        ("spec", "field"),
        [
            ({**ZERO_SHOT, "labels": ["bye", "nope"]}, "labels"),
            ({**ZERO_SHOT, "labels": ["bye"]}, "labels"),
            ({**LABEL_NAME, "label": "nope"}, "label"),
            ({**LABEL_NAME, "threshold": 2}, "threshold"),
            ({**EXEMPLAR, "exemplars": []}, "exemplars"),
        ],
    )
    def test_a_bad_spec_names_the_field(self, session, minilm, sentences, spec, field):
        with pytest.raises(LabelingFunctionSpecError) as caught:
            self._create(session, minilm, spec, sentences)
        assert caught.value.field == field

    def test_refused_where_the_project_has_no_sentence_features(self, session, sentences):
        owner = make_user(session, "owner")
        project, _ = make_project(session, owner, copies=1, settings={"features": "tfidf"})
        for spec in (LABEL_NAME, EXEMPLAR, ZERO_SHOT):
            with pytest.raises(LabelingFunctionSpecError, match="'tfidf'") as caught:
                create_labeling_function(
                    session, project_id=project.id, spec=spec, user=owner, sentences=sentences
                )
            assert caught.value.field == "kind"
        with pytest.raises(LabelingFunctionSpecError, match="embeddings extra") as caught:
            _create(session, project, owner, ZERO_SHOT)  # no embedder at all
        assert caught.value.field == "kind"

    def test_a_function_whose_project_loses_its_sentence_features_stops(
        self, session, minilm, sentences
    ):
        project, owner = minilm
        made = self._create(session, minilm, LABEL_NAME, sentences)
        projects.update_settings(session, project_id=project.id, changes={"features": "tfidf"})
        _add_item(session, project, "weather tomorrow")
        [stopped] = list_labeling_functions(
            session, project_id=project.id, sentences=sentences
        ).functions
        assert (stopped.id, stopped.enabled) == (made.id, False)
        assert stopped.error is not None and "'tfidf'" in stopped.error
        assert _votes(session, made.id) == {}

    def test_a_caller_without_an_embedder_leaves_similarity_functions_waiting(
        self, session, minilm, sentences
    ):
        project, _ = minilm
        made = self._create(session, minilm, LABEL_NAME, sentences)
        _add_item(session, project, "weather tomorrow")
        # The CLI or a script lists without an embedder: the function is neither stopped
        # nor applied to the new item...
        [waiting] = list_labeling_functions(session, project_id=project.id).functions
        assert (waiting.enabled, waiting.error) == (True, None)
        assert "weather tomorrow" not in _votes(session, made.id)
        # ...and the next caller with one catches it up.
        list_labeling_functions(session, project_id=project.id, sentences=sentences)
        assert _votes(session, made.id)["weather tomorrow"] == (1, "weather")

    def test_suggestions_hold_the_zero_shot_model_and_label_names(self, session, sentences):
        owner = make_user(session, "lead")
        project, truth = make_project(
            session, owner, copies=4, name="suggest", settings={"features": "minilm"}
        )
        for item_id, label in truth.items():
            queue.submit_annotation(
                session, project_id=project.id, annotator=owner, item_id=item_id, value=label
            )
        without = {s.key for s in list_suggestions(session, project_id=project.id)}
        assert without and all(key.startswith("kw_") for key in without)
        suggested = {
            s.key: s.suggestion
            for s in list_suggestions(session, project_id=project.id, sentences=sentences)
        }
        assert without < set(suggested)
        assert {"zero_shot", "zs_weather", "zs_bye"} <= set(suggested)
        assert any(key.startswith("ex_") for key in suggested)
        assert suggested["zero_shot"].label == "*"
        made = accept_suggestion(
            session, project_id=project.id, key="zero_shot", user=owner, sentences=sentences
        )
        assert (made.kind, made.label, made.origin) == ("zero_shot", "*", "suggestion")
        assert made.spec["labels"] == list(project.labels) and "label" not in made.spec
        assert made.stats.votes == round(suggested["zero_shot"].coverage * 60)
        left = list_suggestions(session, project_id=project.id, sentences=sentences)
        assert "zero_shot" not in {s.key for s in left}
