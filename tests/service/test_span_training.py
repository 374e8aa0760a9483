"""The retrain worker on span projects: CRF fit, span-F1 metrics, dict suggestions."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select

from labelwise import load_model
from labelwise.data.spans import tokenize
from labelwise.learners.crf import CRFTagger
from labelwise.recipes import combined_uncertainty
from labelwise.service import dashboard, projects, queue, span_training, training
from labelwise.service.errors import ValidationError
from labelwise.store import Item, JobStatus, Project, QueryRound, QueueEntry, TaskType
from tests.service.pool_factory import make_user
from tests.service.span_factory import label_items, make_span_project
from tests.service.word_embedder import WordEmbedder


def queue_rows(session, project):
    session.expire_all()
    round_id = session.get(Project, project.id).current_round_id
    rows = session.execute(
        select(QueueEntry.score, QueueEntry.suggestions, Item.text)
        .join(Item, Item.id == QueueEntry.item_id)
        .where(QueueEntry.round_id == round_id)
        .order_by(QueueEntry.rank)
    ).all()
    session.commit()
    return rows


def assert_on_token_edges(text, spans):
    tokens = tokenize(text)
    for span in spans:
        assert span["start"] in tokens.starts and span["end"] in tokens.ends, (text, span)
        assert 0.0 <= span["confidence"] <= 1.0


@pytest.fixture
def owner(session):
    return make_user(session, "owner")


def test_a_spans_retrain_publishes_span_f1_and_dict_suggestions(
    session, session_factory, owner, tmp_path
):
    project, truth = make_span_project(session, owner, n_items=150, n_evaluation=30)
    label_items(session, project, owner, truth, sorted(truth)[:40])
    training.RetrainWorker(session_factory, data_dir=tmp_path).run_pending()
    [version] = training.list_model_versions(session, project_id=project.id)
    m = version.metrics
    assert m["labeled_sentences"] == 40 and m["labeled_tokens"] > 40 * 3
    assert 0.0 < m["eval_span_f1"] <= 1.0 and m["eval_n"] == 30
    low, high = m["eval_span_f1_ci95"]
    assert low <= m["eval_span_f1"] <= high
    assert "audit_span_f1" not in m  # no audit share in this project
    assert sum(m["pool_predicted_entities"].values()) > 0
    assert m["pool_predicted_sample"] == 150 - 30 - 40
    assert version.artifact_path is not None
    assert version.artifact_path.endswith(f"v{version.version}")
    model = load_model(version.artifact_path)
    assert model.classifier is None and model.tagger.classes_
    # The tagger read the pool's word clusters (tfidf project: context clusters only),
    # and the saved model keeps them.
    assert model.tagger.word_clusters
    ids = {c for cs in model.tagger.word_clusters.values() for c in cs}
    assert ids and all(c.startswith("d") for c in ids)
    rows = queue_rows(session, project)
    assert len(rows) == 40  # queue_size
    assert all(score > 0 for score, _, _ in rows)
    with_spans = 0
    for _, suggestions, text in rows:
        assert suggestions["intents"] == []
        assert_on_token_edges(text, suggestions["spans"])
        if suggestions["spans"]:
            with_spans += 1
            least = min(s["confidence"] for s in suggestions["spans"])
            assert suggestions["focus"]["confidence"] == least
        else:
            assert suggestions["focus"] is None
    assert with_spans > 20
    # The queue serves the top entry with its spans and their focus.
    served = queue.lease_next(session, project_id=project.id, annotator=owner)
    assert served.model_version == 1 and served.text == rows[0][2]
    assert served.span_suggestions == rows[0][1]["spans"]
    assert served.focus == rows[0][1]["focus"]
    # Ranked by the spans default, least confidence of the best path.
    round_ = session.get(QueryRound, session.get(Project, project.id).current_round_id)
    assert round_.strategy.startswith("SequenceLeastConfidence")


def test_a_spans_project_follows_its_sequence_strategy(session, session_factory, owner, tmp_path):
    project, truth = make_span_project(
        session, owner, n_items=60, settings={"strategy": "token_entropy"}
    )
    label_items(session, project, owner, truth, sorted(truth)[:12])
    training.RetrainWorker(session_factory, data_dir=tmp_path).run_pending()
    [job] = training.list_jobs(session, project_id=project.id)
    assert job.status is JobStatus.DONE
    session.expire_all()
    round_ = session.get(QueryRound, session.get(Project, project.id).current_round_id)
    assert round_.strategy.startswith("TokenEntropy")


def test_too_few_sentences_or_no_entity_skip_the_retrain(session, session_factory, owner, tmp_path):
    project, truth = make_span_project(session, owner, n_items=60)
    ids = sorted(truth)
    label_items(session, project, owner, truth, ids[:12], value={"spans": []})
    worker = training.RetrainWorker(session_factory, data_dir=tmp_path)
    job = training.request_retrain(session, project_id=project.id)
    worker.run_pending()
    session.refresh(job)
    assert job.status is JobStatus.SKIPPED and job.error is None
    assert job.progress["message"].startswith("Skipped: 12 labeled sentences with 0 entities")
    assert "one entity" in job.progress["message"]
    assert training.list_model_versions(session, project_id=project.id) == []


def test_a_failing_crf_fit_keeps_serving_the_last_good_version(
    session, session_factory, owner, tmp_path, monkeypatch
):
    project, truth = make_span_project(session, owner, n_items=60)
    label_items(session, project, owner, truth, sorted(truth)[:12])
    worker = training.RetrainWorker(session_factory, data_dir=tmp_path)
    worker.run_pending()
    session.expire_all()
    good_round = session.get(Project, project.id).current_round_id
    assert good_round is not None

    def broken(*_args, **_kwargs):
        raise RuntimeError("crfsuite on fire")

    monkeypatch.setattr(CRFTagger, "fit", broken)
    job = training.request_retrain(session, project_id=project.id)
    worker.run_pending()
    session.refresh(job)
    assert job.status is JobStatus.FAILED and "crfsuite on fire" in job.progress["detail"]
    session.expire_all()
    assert session.get(Project, project.id).current_round_id == good_round
    assert [v.version for v in training.list_model_versions(session, project_id=project.id)] == [1]


def test_intents_and_entities_rank_by_the_mean_of_both_uncertainties(
    session, session_factory, owner, tmp_path
):
    project, truth = make_span_project(
        session, owner, task=TaskType.INTENTS_ENTITIES, n_items=150, n_evaluation=30
    )
    label_items(session, project, owner, truth, sorted(truth)[:40])
    training.RetrainWorker(session_factory, data_dir=tmp_path).run_pending()
    [version] = training.list_model_versions(session, project_id=project.id)
    m = version.metrics
    # Both models are scored on the same evaluation set.
    assert 0.0 <= m["eval_accuracy"] <= 1.0 and len(m["eval_ci95"]) == 2
    assert 0.0 < m["eval_span_f1"] <= 1.0 and m["eval_n"] == 30
    # The labels saved are estimated for classification projects only.
    assert "labels_saved" not in m
    # One saved model: the intent classifier and the tagger.
    model = load_model(tmp_path / "projects" / str(project.id) / "models" / "v1")
    assert model.classes == tuple(project.labels)
    tagger = model.tagger
    rows = queue_rows(session, project)
    assert len(rows) == 40
    scores = [score for score, _, _ in rows]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    for score, suggestions, text in rows[:10]:
        intents = suggestions["intents"]
        assert intents and {name for name, _ in intents} <= set(project.labels)
        assert_on_token_edges(text, suggestions["spans"])
        proba = [[intents[0][1], intents[1][1]]]
        path = tagger.best_path_proba([tokenize(text).tokens])
        assert score == pytest.approx(combined_uncertainty(proba, path)[0], abs=1e-3)


def test_span_projects_name_sequence_strategies_and_others_keep_theirs(session, owner):
    project, _ = make_span_project(session, owner, n_items=5, settings={})
    assert project.settings["strategy"] == "sequence_lc"  # the spans default
    projects.update_settings(session, project_id=project.id, changes={"strategy": "token_margin"})
    with pytest.raises(ValidationError, match="unknown strategy 'margin' for a spans project"):
        projects.update_settings(session, project_id=project.id, changes={"strategy": "margin"})
    mixed, _ = make_span_project(session, owner, task=TaskType.INTENTS_ENTITIES, n_items=5)
    assert mixed.settings["strategy"] == "margin"  # its intent classifier's
    with pytest.raises(ValidationError, match="for a intents-entities project"):
        projects.update_settings(session, project_id=mixed.id, changes={"strategy": "mnlp"})


def test_the_dashboard_has_span_f1_and_entities_per_type(session, session_factory, owner, tmp_path):
    project, truth = make_span_project(session, owner, n_items=120, n_evaluation=30)
    ids = sorted(truth)
    worker = training.RetrainWorker(session_factory, data_dir=tmp_path)
    for batch in (ids[:12], ids[12:30]):
        label_items(session, project, owner, truth, batch)
        worker.run_pending()
    board = dashboard.project_dashboard(session, project_id=project.id)
    assert board.task == "spans"
    assert [(v.version, v.labeled_sentences) for v in board.versions] == [(1, 12), (2, 30)]
    assert all(
        v.eval_span_f1 is not None
        and v.eval_span_f1_ci95 is not None
        and len(v.eval_span_f1_ci95) == 2
        for v in board.versions
    )
    labeled = Counter(s["label"] for i in ids[:30] for s in truth[i]["spans"])
    assert board.entities_labeled == dict(labeled.most_common())
    assert board.labels_per_class == board.entities_labeled  # a spans project's classes
    assert board.entities_predicted and board.entities_sample == 120 - 30 - 30


def test_the_sentence_cache_learns_word_clusters_again_only_at_a_growth_step():
    cache = span_training.SentenceCache()
    cache.extend([f"play song{i} by artist{i % 7}" for i in range(110)])
    first = cache.word_clusters()
    assert cache.clustered_on == (100, "context")
    assert "song5" in first and "song105" not in first  # learned on the first 100
    cache.extend(["play one more"] * 10)  # 120 sentences: same step
    assert cache.word_clusters() is first
    cache.extend(["play one more"] * 10)  # 130: past 125
    assert cache.word_clusters() is not first and cache.clustered_on == (125, "context")
    again = cache.word_clusters(lambda words: [[1.0, float(len(w))] for w in words], "vectors")
    assert cache.clustered_on == (125, "vectors")
    assert any(c.startswith("v") for c in again["play"])


def test_a_minilm_project_tagger_reads_clusters_of_what_words_mean_too(
    session, session_factory, owner, tmp_path
):
    project, truth = make_span_project(session, owner, settings={"features": "minilm"})
    label_items(session, project, owner, truth, sorted(truth)[:40])
    training.RetrainWorker(
        session_factory, data_dir=tmp_path, embedder_factory=WordEmbedder
    ).run_pending()
    [version] = training.list_model_versions(session, project_id=project.id)
    assert version.artifact_path is not None
    tagger = load_model(version.artifact_path).tagger
    prefixes = {c[0] for cs in tagger.word_clusters.values() for c in cs}
    assert prefixes == {"d", "v"}
