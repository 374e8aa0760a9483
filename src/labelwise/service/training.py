"""Retraining: when to retrain, the background worker, and the atomic queue swap.

The worker runs beside the server and never blocks labeling: it reads a snapshot of
the labels, trains and scores outside any transaction, then publishes the new model
version and its ranked queue in one short transaction. If anything fails, the job is
marked failed with the error and the project keeps serving the last good queue.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import clone
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from labelwise.data import Pool
from labelwise.evaluation import PoolDiagnostics, pool_diagnostics, stop_set
from labelwise.evaluation.intervals import wilson_interval
from labelwise.evaluation.labels_saved import (
    MIN_AUDIT_LABELS,
    RandomLabelsEstimate,
    estimate_random_labels,
)
from labelwise.exceptions import MissingDependencyError
from labelwise.features import SentenceEmbedder, TfidfFeaturizer
from labelwise.learners import Committee, ProbabilisticClassifier
from labelwise.loop import ActiveLearningLoop, LoopState
from labelwise.recipes.classification import (
    SENTENCE_FEATURES,
    classification_learner,
    classification_strategy,
)
from labelwise.scoring import DaskScorer, LocalScorer, PoolScorer
from labelwise.service import (
    relabel,
    span_training,
    stream_budget,
    traffic_groups,
    weak_labels,
    weak_training,
)
from labelwise.service.errors import ConflictError, NotFoundError
from labelwise.service.events import record
from labelwise.service.feature_store import FeatureStore, StoredRows, store_directory
from labelwise.service.import_jobs import recover_imports, resumable, run_import_job
from labelwise.service.importing import IMPORT_KIND
from labelwise.service.job_errors import record_failure
from labelwise.service.learning_health import class_mix_drift, class_names
from labelwise.service.project_settings import SEQUENCE_TASKS, ProjectSettings
from labelwise.service.projects import task_of
from labelwise.service.publish import publish, remove_staged, text_model
from labelwise.service.sentence_vectors import SentenceVectors, cached_minilm
from labelwise.service.snapshot import Outcome, Snapshot, take_snapshot, trainable_labels
from labelwise.service.transactions import begin_write, end_read
from labelwise.store import Item, Job, JobStatus, ModelVersion, Project
from labelwise.strategies import (
    SEQUENCE_STRATEGIES,
    BackgroundIndex,
    ExactNeighborIndex,
    FaissCompressedIndex,
    IncrementalRescoring,
    QueryStrategy,
)
from labelwise.strategies.wrappers import ANN_MIN_POOL
from labelwise.tasks import Task
from labelwise.textmodel import TextModel, load_model

log = logging.getLogger(__name__)

#: Classes stored per queued item as suggestions, best first: one per number key 1-9 on
#: the labeling page. Classes the model gives no probability (never labeled yet) still
#: fill the list in schema order, so every key labels something predictable.
SUGGESTIONS = 9
#: Pool items whose predictions successive models are compared on (stabilizing predictions).
STOP_SET = 1000
#: ``Job.kind`` of a retrain.
RETRAIN = "retrain"
#: ``Job.kind`` of a new-intent discovery (``service.intent_discovery``, which imports
#: this module: the worker imports it when it runs one).
DISCOVER_KIND = "discover_intents"
#: Back-off after consecutive failed retrains: automatic triggers wait
#: ``min(BACKOFF_SECONDS * 2**(k-1), BACKOFF_MAX_SECONDS)`` after the latest failure.
BACKOFF_SECONDS = 30.0
BACKOFF_MAX_SECONDS = 3600.0
#: Enough recent jobs to reach the maximum back-off (30 s * 2**7 > 1 h).
_BACKOFF_STREAK = 8


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; every time the store writes is UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _label_count(session: Session, project_id: int) -> int:
    counted = trainable_labels(project_id).order_by(None).subquery()
    return session.scalar(select(func.count()).select_from(counted)) or 0


def _queued_retrain(session: Session, project_id: int) -> Job | None:
    return session.scalar(
        select(Job).where(
            Job.project_id == project_id,
            Job.kind == RETRAIN,
            Job.status == JobStatus.QUEUED,
        )
    )


def retry_after(session: Session, *, project_id: int) -> datetime | None:
    """When automatic triggers may queue a retrain again after failures (None: now).

    After ``k`` consecutive failed retrains (the newest finished ones), automatic
    triggers wait ``min(BACKOFF_SECONDS * 2**(k-1), BACKOFF_MAX_SECONDS)`` after the
    latest failure, so a persistent fault does not become a retrain on every submit.
    """
    recent = session.execute(
        select(Job.status, Job.finished_at, Job.created_at)
        .where(
            Job.project_id == project_id,
            Job.kind == RETRAIN,
            Job.status.in_((JobStatus.DONE, JobStatus.FAILED, JobStatus.SKIPPED)),
        )
        .order_by(Job.id.desc())
        .limit(_BACKOFF_STREAK)
    ).all()
    failures = 0
    for status, _, _ in recent:
        if status is not JobStatus.FAILED:
            break
        failures += 1
    if not failures:
        return None
    _, finished_at, created_at = recent[0]
    wait = min(BACKOFF_SECONDS * 2 ** (failures - 1), BACKOFF_MAX_SECONDS)
    return _utc(finished_at or created_at) + timedelta(seconds=wait)


def enqueue_retrain_if_due(
    session: Session,
    *,
    project: Project,
    trigger: str,
    force: bool = False,
    manual: bool = False,
) -> Job | None:
    """Queue a retrain when ``retrain_every`` trainable labels arrived since the last one.

    Runs inside the caller's write transaction. At most one retrain per project waits
    in the queue (a partial unique index holds that on both databases, also against a
    concurrent submit); labels that arrive while a job runs are picked up by the next.

    Parameters
    ----------
    force : bool
        Ignore the cadence (the ranked queue ran dry). An automatic forced trigger still
        needs a new trainable label since the last retrain and respects the back-off.
    manual : bool
        A person asked: queue regardless of cadence and of the back-off after failures.

    Returns
    -------
    Job or None
        The queued retrain (this call's, or the one already waiting), or None when
        none is due.
    """
    # Flush the caller's pending rows here, outside the savepoint below: their
    # constraint errors are the caller's to handle, not a sign of a concurrent retrain.
    session.flush()
    waiting = _queued_retrain(session, project.id)
    if waiting is not None:
        return waiting
    settings = ProjectSettings.model_validate(project.settings)
    count = _label_count(session, project.id)
    if not manual:
        last = session.scalar(
            select(func.max(Job.label_count)).where(
                Job.project_id == project.id,
                Job.kind == RETRAIN,
                # Not a queued one: one queued since the look-up above (a concurrent
                # submit) is found by the insert below, not mistaken for "not due".
                Job.status.not_in((JobStatus.FAILED, JobStatus.QUEUED)),
            )
        )
        if last is None:
            due = count >= settings.min_labels or force
        elif force:
            due = count > last
        else:
            due = count >= settings.min_labels and count - last >= settings.retrain_every
        if not due:
            return None
        resume = retry_after(session, project_id=project.id)
        if resume is not None and _now() < resume:
            return None
    job = Job(project_id=project.id, kind=RETRAIN, trigger=trigger, label_count=count)
    try:
        with session.begin_nested():
            session.add(job)
    except IntegrityError:
        # A concurrent transaction queued one first (uq_jobs_one_queued_retrain); only
        # the savepoint rolled back, so the caller's transaction carries on.
        return _queued_retrain(session, project.id)
    record(session, "retrain_queued", project_id=project.id, job_id=job.id, trigger=trigger)
    return job


def request_retrain(session: Session, *, project_id: int, trigger: str = "manual") -> Job:
    """Queue a retrain now (or return the one already waiting)."""
    project = session.get(Project, project_id, populate_existing=True)
    if project is None:
        raise NotFoundError(f"Project {project_id} does not exist.")
    begin_write(session)
    # None only when the waiting job was claimed between a failed insert and the
    # look-up; the index is free again then, so the second call queues one.
    job = enqueue_retrain_if_due(
        session, project=project, trigger=trigger, manual=True
    ) or enqueue_retrain_if_due(session, project=project, trigger=trigger, manual=True)
    if job is None:
        raise ConflictError("Another retrain is being queued right now; try again.")
    session.commit()
    return job


def list_jobs(session: Session, *, project_id: int, limit: int = 100) -> list[Job]:
    """Newest first."""
    jobs = list(
        session.scalars(
            select(Job).where(Job.project_id == project_id).order_by(Job.id.desc()).limit(limit)
        )
    )
    end_read(session)
    return jobs


def list_model_versions(session: Session, *, project_id: int) -> list[ModelVersion]:
    """Oldest first: the order of a learning curve."""
    versions = list(
        session.scalars(
            select(ModelVersion)
            .where(ModelVersion.project_id == project_id)
            .order_by(ModelVersion.version)
        )
    )
    end_read(session)
    return versions


# -- the worker ---------------------------------------------------------------------------


class RetrainWorker:
    """Runs queued retrain jobs in a background thread.

    Parameters
    ----------
    session_factory : sessionmaker
    data_dir : Path
        Model artifacts go to ``data_dir/projects/<id>/models/``; MiniLM vectors are
        cached under ``data_dir/embeddings``.
    poll_seconds : float
        How long an idle worker waits before looking for jobs again.
    embedder_factory : callable, optional
        Builds the sentence embedder for MiniLM projects (``features="minilm"`` or
        ``"minilm+tfidf"``; tests inject
        a fake; the default loads the offline MiniLM package with a disk cache).
    scorer : PoolScorer, optional
        Where the pool is scored after each retrain (:func:`pool_scorer`); None: in the
        worker's own process.
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        data_dir: Path,
        poll_seconds: float = 0.2,
        embedder_factory: Callable[[], Any] | None = None,
        scorer: PoolScorer | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.data_dir = Path(data_dir)
        self.poll_seconds = poll_seconds
        self.embedder_factory = embedder_factory
        self.scorer = scorer
        self._features: dict[int, FeatureStore] = {}
        self._sentences: dict[int, span_training.SentenceCache] = {}
        # The last model's predictions on each project's fixed stop set (kept in memory:
        # after a restart the first new version has no kappa).
        self._stop_sets: dict[int, tuple[NDArray[np.intp], NDArray[np.intp]]] = {}
        self._diagnostics_due: dict[int, tuple[int, Snapshot, Outcome, Pool]] = {}
        # Each project's incremental rounds (full_rescore_every > 1): the last full
        # ranking's shortlist and the neighbour index, kept between retrains.
        self._rounds: dict[int, IncrementalRescoring] = {}
        self._embedder: Any = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self.fail_interrupted()
        recover_imports(self.session_factory, self.data_dir)
        remove_staged(self.data_dir)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="labelwise-retrain", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def close(self) -> None:
        """Release what the worker holds beyond its thread (a cluster connection)."""
        if self.scorer is not None:
            self.scorer.close()

    def fail_interrupted(self) -> int:
        """Mark jobs left ``running`` by a worker that died (a killed server) as failed.

        One worker per database is assumed: a starting worker owns every running job.
        Returns how many were marked; their projects keep serving their last good model.
        An import stopped while publishing is queued again instead, to be finished (its
        rows are all valid and staged), and the event of a failed job is named after its
        kind (``import_failed``, ``retrain_failed``).
        """
        with self.session_factory() as session:
            begin_write(session)
            stale = list(session.scalars(select(Job).where(Job.status == JobStatus.RUNNING)))
            failed = 0
            for job in stale:
                if resumable(job):
                    # Every row is valid and staged: finishing the publish keeps the
                    # import all or nothing, failing it now would leave part of it in.
                    job.status = JobStatus.QUEUED
                    record(session, "import_resumed", project_id=job.project_id, job_id=job.id)
                    continue
                job.status = JobStatus.FAILED
                job.error = "Interrupted: the worker stopped while this job ran."
                job.finished_at = _now()
                if job.kind == IMPORT_KIND:  # the import page shows the phase
                    job.progress = {**(job.progress or {}), "phase": "failed"}
                record(session, f"{job.kind}_failed", project_id=job.project_id, job_id=job.id)
                failed += 1
            session.commit()
            return failed

    def wake(self) -> None:
        """Look for jobs now instead of at the next poll."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_pending()
            except Exception:  # the thread must survive a broken database call
                log.exception("retrain worker loop failed; retrying")
            self._wake.wait(self.poll_seconds)
            self._wake.clear()

    # -- jobs

    def run_pending(self) -> int:
        """Run queued jobs until none is left; returns how many ran."""
        ran = 0
        while not self._stop.is_set() or self._thread is None:
            job_id = self._claim()
            if job_id is None:
                # Diagnostics stop (and wait again) when a job arrives or the worker stops.
                while (
                    self._diagnostics_due
                    and not self._stop.is_set()
                    and self._claim_peek() is False
                ):
                    _, due = self._diagnostics_due.popitem()
                    self._diagnose(*due)
                return ran
            kind = self._job_kind(job_id)
            if kind == IMPORT_KIND:
                run_import_job(self.session_factory, job_id)
            elif kind == traffic_groups.GROUP_KIND:
                self.run_grouping_job(job_id)
            elif kind == relabel.RELABEL_KIND:
                self.run_relabel_job(job_id)
            elif kind == DISCOVER_KIND:
                self.run_discovery_job(job_id)
            else:
                self.run_job(job_id)
            ran += 1
        return ran

    def _job_kind(self, job_id: int) -> str:
        with self.session_factory() as session:
            kind = session.scalar(select(Job.kind).where(Job.id == job_id)) or ""
            end_read(session)
            return kind

    def _claim_peek(self) -> bool:
        """True when a job is waiting (without claiming it)."""
        with self.session_factory() as session:
            waiting = session.scalar(select(Job.id).where(Job.status == JobStatus.QUEUED).limit(1))
            session.commit()
            return waiting is not None

    def _claim(self) -> int | None:
        with self.session_factory() as session:
            # Polled several times a second: look first, so an idle worker never queues
            # on the writer lock behind the annotators' writes.
            waiting = session.scalar(select(Job.id).where(Job.status == JobStatus.QUEUED).limit(1))
            if waiting is None:
                end_read(session)
                return None
            begin_write(session)
            job = session.scalar(
                select(Job)
                .where(Job.status == JobStatus.QUEUED)
                .order_by(Job.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if job is None:
                session.commit()
                return None
            job.status = JobStatus.RUNNING
            job.started_at = _now()
            session.commit()
            return job.id

    def run_job(self, job_id: int) -> None:
        """Train, score and publish for one claimed job; failures are recorded, not raised."""
        started = time.perf_counter()
        try:
            with self.session_factory() as session:
                job = session.get_one(Job, job_id)
                self._refresh_weak_labels(session, job.project_id)
                snapshot = take_snapshot(session, job.project_id)
                # The cheap check first: featurizing the pool (a MiniLM pass, a TF-IDF
                # refit) is most of a retrain's time and is wasted on too few labels.
                skipped = _too_few_labels(snapshot)
                spans = span_training.is_span_task(snapshot)
                # A spans project needs tokens, no sentence features; intents+entities
                # needs both (its intent classifier reads the features).
                texts, to_tokenize = [], []
                if skipped is None:
                    if snapshot.task.kind != "spans":
                        texts = self._new_texts(
                            session, snapshot.project_id, snapshot.settings.features
                        )
                    if spans:
                        to_tokenize = self._untokenized(session, snapshot)
                session.commit()
            pool = Pool(np.zeros((0, 1), dtype=np.float32), [])
            if skipped is not None:
                outcome = _skipped(snapshot, skipped)
            elif spans:

                def classify(intents: Snapshot) -> tuple[Outcome, Pool]:
                    nonlocal pool
                    pool = self._pool(snapshot.project_id, texts)
                    rounds = self._incremental(intents, len(pool))
                    return train_and_rank(pool, intents, scorer=self.scorer, rounds=rounds), pool

                cache = self._sentences[snapshot.project_id]
                sentences = cache.extend(to_tokenize)
                # Word clusters from the pool: what the words of a minilm project mean,
                # and where every project's words occur.
                minilm = snapshot.settings.features in SENTENCE_FEATURES
                clusters = cache.word_clusters(
                    self._minilm().transform if minilm else None,
                    "context+minilm" if minilm else "context",
                )
                outcome = span_training.train_and_rank(
                    snapshot, sentences, classify=classify, word_clusters=clusters
                )
            else:
                pool = self._pool(snapshot.project_id, texts)
                rounds = self._incremental(snapshot, len(pool))
                outcome = train_and_rank(pool, snapshot, scorer=self.scorer, rounds=rounds)
            store = self._features.get(snapshot.project_id)
            model = text_model(snapshot, outcome, None if store is None else store.featurizer())
            with self.session_factory() as session:
                publish(
                    session,
                    job_id,
                    snapshot,
                    outcome,
                    model=model,
                    data_dir=self.data_dir,
                    started=started,
                )
        except Exception as exc:  # any failure must end as a failed job
            log.exception("retrain job %s failed", job_id)
            self._fail(job_id, exc, what="Retraining", event="retrain_failed")
            return
        if outcome.skipped is None:
            self._queue_discovery(snapshot.project_id)
        # A spans project has no classifier to diagnose; intents+entities diagnoses its
        # intent classifier.
        if outcome.model is not None:
            # Run when the job queue is idle, newest version per project only: the
            # diagnostics pass must not delay the next retrain.
            self._diagnostics_due[snapshot.project_id] = (job_id, snapshot, outcome, pool)

    def _refresh_weak_labels(self, session: Session, project_id: int) -> None:
        """Vote the labeling functions on items imported since they last ran, when the
        project trains on weak labels; a failure is logged and the stored votes train."""
        project = session.get_one(Project, project_id)
        settings = ProjectSettings.model_validate(project.settings)
        if settings.weak_label_weight == 0 or not task_of(project).labeling_functions:
            return
        # Similarity functions compare sentence embeddings, which only a project with
        # MiniLM features has (the worker's embedder and its cache, as for training).
        sentences = (
            SentenceVectors(self._minilm) if settings.features in SENTENCE_FEATURES else None
        )
        try:
            weak_labels.refresh_weak_labels(session, project=project, sentences=sentences)
        except Exception:  # the votes already stored still train
            log.exception("refreshing the weak labels of project %s failed", project_id)
            session.rollback()

    def run_grouping_job(self, job_id: int) -> None:
        """Embed new traffic items and group near-duplicates; failures are recorded."""
        try:
            with self.session_factory() as session:
                job = session.get_one(Job, job_id)
                project_id = job.project_id
                settings = ProjectSettings.model_validate(
                    session.get_one(Project, project_id).settings
                )
                progress = traffic_groups.run_grouping(
                    session,
                    project_id=project_id,
                    embed=self._embed_for_grouping,
                    threshold=settings.near_duplicate_cosine,
                )
                session.commit()
                # New leaders (and grown groups) are offered to the stream budget.
                progress.update(
                    stream_budget.score_and_admit(
                        session, project_id=project_id, embed=self._embed_for_grouping
                    )
                )
                _finish_job(session, job_id, progress)
        except Exception as exc:  # any failure must end as a failed job
            log.exception("grouping job %s failed", job_id)
            self._fail(job_id, exc, what="Grouping traffic", event="group_traffic_failed")

    def run_relabel_job(self, job_id: int) -> None:
        """Rank suspected label errors on the project's features; failures are recorded."""
        try:
            with self.session_factory() as session:
                job = session.get_one(Job, job_id)
                project_id = job.project_id
                settings = ProjectSettings.model_validate(
                    session.get_one(Project, project_id).settings
                )
                texts = self._new_texts(session, project_id, settings.features)
                end_read(session)
                pool = self._pool(project_id, texts)
                progress = relabel.run_relabel(session, job_id=job_id, rows=pool.rows)
                _finish_job(session, job_id, progress)
        except Exception as exc:  # any failure must end as a failed job
            log.exception("relabel job %s failed", job_id)
            self._fail(job_id, exc, what="Ranking suspected label errors", event="relabel_failed")

    def _queue_discovery(self, project_id: int) -> None:
        """After a published retrain: recluster the project's candidates under the new
        model (projects with production traffic only; a failure here is logged)."""
        from labelwise.service import intent_discovery

        try:
            with self.session_factory() as session:
                due = intent_discovery.discovery_due_after_retrain(session, project_id=project_id)
                end_read(session)
                if due:
                    begin_write(session)
                    intent_discovery.enqueue_discovery(
                        session, project_id=project_id, trigger="retrain"
                    )
                    session.commit()
        except Exception:  # the model already serves; discovery can be asked for again
            log.exception("queueing intent discovery for project %s failed", project_id)

    def run_discovery_job(self, job_id: int) -> None:
        """Recluster the project's new-intent candidates; failures are recorded."""
        from labelwise.service import intent_discovery

        try:
            with self.session_factory() as session:
                progress = intent_discovery.run_discovery(
                    session,
                    job_id=job_id,
                    embed=self._embed_for_grouping,
                    load_model=self._load_model,
                )
                if "skipped" in progress:
                    _finish_job(
                        session, job_id, {"message": progress["skipped"]}, JobStatus.SKIPPED
                    )
                else:
                    _finish_job(session, job_id, progress)
        except Exception as exc:  # any failure must end as a failed job
            log.exception("intent discovery job %s failed", job_id)
            self._fail(job_id, exc, what="Finding new intents", event="discover_intents_failed")

    def _load_model(self, path: str) -> TextModel:
        """A saved version's model; a MiniLM one embeds through this worker's embedder
        (its disk cache already holds the pool's vectors from retraining)."""
        try:
            embedder = self._minilm()
        except MissingDependencyError:
            embedder = None
        return load_model(
            path, embedder=embedder if isinstance(embedder, SentenceEmbedder) else None
        )

    def _fail(self, job_id: int, exc: Exception, *, what: str, event: str) -> None:
        """End a job as failed: members see one path-free line, admins the detail, and
        the log (written by the caller) the whole traceback."""
        with self.session_factory() as session:
            begin_write(session)
            job = session.get_one(Job, job_id)
            job.status = JobStatus.FAILED
            record_failure(job, exc, what=what)
            job.finished_at = _now()
            record(session, event, project_id=job.project_id, job_id=job_id)
            session.commit()

    def _embed_for_grouping(self, texts: list[str]) -> Any:
        try:
            return self._minilm().transform(texts)
        except MissingDependencyError:
            # Without the embeddings extra, group on TF-IDF rows of these texts (stricter
            # in effect: punctuation variants fall below the threshold).
            log.warning("MiniLM unavailable: grouping traffic on TF-IDF features")
            return TfidfFeaturizer().fit_transform(texts)

    def _diagnose(self, job_id: int, snapshot: Snapshot, outcome: Outcome, pool: Pool) -> None:
        """Add pool diagnostics and the labels-saved estimate to the version just published.

        Runs after the swap, so the extra passes (over the pool, and the models the
        estimate trains) never delay serving; a failure here is logged and leaves the
        version without these fields. A job queued meanwhile stops the pass over the pool
        (seconds on a million items): this version goes back to wait for the next idle
        moment, unless that job's retrain publishes a newer one first.
        """
        extra: dict[str, Any] = {}
        predicted: dict[str, int] | None = None
        # Multi-label models predict no one class per item: no class mix to compare.
        if not snapshot.task.per_class_proba:
            try:
                diagnostics = self._pool_diagnostics(snapshot, outcome, pool)
                if diagnostics is None:
                    self._diagnostics_due.setdefault(
                        snapshot.project_id, (job_id, snapshot, outcome, pool)
                    )
                    return
                extra.update(diagnostics.to_metrics())
                predicted = diagnostics.predicted_counts
                drift = class_mix_drift(snapshot.values, predicted)
                if drift is not None:
                    extra["class_mix_drift"] = round(drift, 4)
            except Exception:  # the model already serves; diagnostics are a bonus
                log.exception("pool diagnostics for job %s failed", job_id)
        # The labels saved are a classification project's question: an intents+entities
        # model is judged by its spans too.
        if not span_training.is_span_task(snapshot):
            try:
                estimate = labels_saved(pool, snapshot, outcome.metrics, class_prior=predicted)
                extra["labels_saved"] = estimate.to_dict()
            except Exception:  # the model already serves; the estimate is a bonus
                log.exception("labels-saved estimate for job %s failed", job_id)
        if not extra:
            return
        try:
            with self.session_factory() as session:
                begin_write(session)
                job = session.get_one(Job, job_id)
                version = session.get_one(ModelVersion, job.model_version_id)
                version.metrics = {**version.metrics, **extra}
                session.commit()
        except Exception:  # the model already serves; these fields are a bonus
            log.exception("storing the diagnostics of job %s failed", job_id)

    def _pool_diagnostics(
        self, snapshot: Snapshot, outcome: Outcome, pool: Pool
    ) -> PoolDiagnostics | None:
        """The version's diagnostics, or None when a job queued meanwhile stopped them."""
        previous = self._stop_sets.get(snapshot.project_id)
        stop = previous[0] if previous is not None else stop_set(len(pool), STOP_SET, 0)
        unlabeled = np.setdiff1d(
            np.arange(len(pool), dtype=np.intp),
            np.concatenate([snapshot.positions, snapshot.audit, snapshot.excluded]),
        )
        diagnostics = pool_diagnostics(
            outcome.model,
            pool,
            unlabeled,
            snapshot.labels,
            stop_positions=stop,
            previous=previous,
            interrupt=lambda: self._stop.is_set() or self._claim_peek(),
        )
        if diagnostics is None:
            return None
        self._stop_sets[snapshot.project_id] = (
            diagnostics.stop_positions,
            diagnostics.stop_predictions,
        )
        return diagnostics

    def _new_texts(self, session: Session, project_id: int, features: str) -> list[str]:
        """Texts of the items not in the project's feature store yet, by position."""
        store = self._features.get(project_id)
        if store is None or store.kind != features:
            project = session.get_one(Project, project_id)
            store = self._features[project_id] = FeatureStore(
                store_directory(self.data_dir, project_id),
                features,
                embedder=self._minilm,
                seed=project_id,
                identity=f"{project.name}|{_utc(project.created_at).isoformat()}",
            )
        return list(
            session.scalars(
                select(Item.text)
                .where(Item.project_id == project_id, Item.position >= len(store))
                .order_by(Item.position)
            )
        )

    def _untokenized(self, session: Session, snapshot: Snapshot) -> list[str]:
        """Texts of the items this worker has not tokenized yet, by position."""
        cached = self._sentences.setdefault(snapshot.project_id, span_training.SentenceCache())
        return list(
            session.scalars(
                select(Item.text)
                .where(
                    Item.project_id == snapshot.project_id,
                    Item.position >= len(cached.sentences),
                )
                .order_by(Item.position)
            )
        )

    def neighbour_index_ready(self, project_id: int) -> bool | None:
        """Whether the project's incremental rounds have their neighbour index built (until
        then its retrains rank the whole pool); None when it has no incremental rounds
        here (``full_rescore_every`` 1, or no retrain since the worker started)."""
        rounds = self._rounds.get(project_id)
        if rounds is None or rounds.index is None:
            return None
        return bool(getattr(rounds.index, "ready", True)) and hasattr(rounds, "index_")

    def _incremental(self, snapshot: Snapshot, n_items: int) -> IncrementalRescoring | None:
        """The project's incremental rounds, kept between retrains; None when every
        retrain ranks the whole pool. A restarted worker starts them again with a full
        ranking.

        The neighbour index is built and extended on a thread of its own
        (``BackgroundIndex``), started by the first full ranking; retrains rank the whole
        pool until it is ready (at a million items it took 42 s, which the first
        candidate retrain used to wait). It is exact below ``ANN_MIN_POOL`` items and
        compressed above (``FaissCompressedIndex``, 32 bytes a row), never the library's
        HNSW: that keeps a float32 copy of every vector in the server's memory (1.5 GB
        at a million items). Built on two cores: 200,000 clustered 384-d vectors took 14.8 s as HNSW
        and 13.9 s compressed; a million random ones 73 s compressed, and HNSW had not
        finished after 20 minutes.
        """
        every = snapshot.settings.full_rescore_every
        if every == 1:
            self._rounds.pop(snapshot.project_id, None)
            return None
        rounds = self._rounds.get(snapshot.project_id)
        if rounds is None:
            rounds = IncrementalRescoring(
                project_strategy(snapshot), full_every=every, index_features=SentenceBlock()
            )
            self._rounds[snapshot.project_id] = rounds
        rounds.full_every = every
        kind = ExactNeighborIndex if n_items < ANN_MIN_POOL else FaissCompressedIndex
        if not isinstance(getattr(rounds.index, "index", None), kind):
            # Built beside the worker: until it is ready, retrains rank the whole pool.
            rounds.index = BackgroundIndex(kind())
        return rounds

    def _pool(self, project_id: int, new_texts: list[str]) -> Pool:
        """The project's pool over its feature store, once ``new_texts`` (from
        :meth:`_new_texts`) are stored: read a chunk of rows at a time, never whole."""
        store = self._features[project_id]
        if new_texts:
            total = len(store) + len(new_texts)
            store.extend(new_texts, every_text=lambda: self._texts(project_id, total))
        if not len(store):
            return Pool(np.zeros((0, 1), dtype=np.float32), [])  # no items: nothing to train
        return Pool(store.rows())

    def _texts(self, project_id: int, n_items: int) -> list[str]:
        """The texts of a project's first ``n_items`` items, by position (a TF-IDF fit)."""
        with self.session_factory() as session:
            texts = list(
                session.scalars(
                    select(Item.text)
                    .where(Item.project_id == project_id, Item.position < n_items)
                    .order_by(Item.position)
                )
            )
            end_read(session)
            return texts

    def _minilm(self) -> Any:
        if self._embedder is None:
            if self.embedder_factory is not None:
                self._embedder = self.embedder_factory()
            else:
                self._embedder = cached_minilm(self.data_dir)
        return self._embedder


def _too_few_labels(snapshot: Snapshot) -> str | None:
    """Why the snapshot cannot train a model, in plain words; None when it can."""
    if span_training.is_span_task(snapshot):
        return span_training.too_few_span_labels(snapshot)
    need = snapshot.settings.min_labels
    n_items = len(snapshot.positions)
    n_classes = len({str(v) for v in snapshot.values})
    if n_items >= need and n_classes >= 2:
        return None
    classes = "class" if n_classes == 1 else "classes"
    return (
        f"Skipped: {n_items} labeled items in {n_classes} {classes} so far; a model needs "
        f"at least {need} labeled items and 2 classes (audit, evaluation and undone "
        "labels don't count)."
    )


def _skipped(snapshot: Snapshot, reason: str) -> Outcome:
    return Outcome(
        positions=np.zeros(0, dtype=np.intp),
        scores=np.zeros(0),
        suggestions=[],
        strategy=_strategy_name(snapshot),
        metrics={},
        skipped=reason,
    )


def _strategy_name(snapshot: Snapshot) -> str:
    if snapshot.task.kind in SEQUENCE_TASKS:
        return repr(SEQUENCE_STRATEGIES[span_training.span_strategy(snapshot)]())
    return repr(project_strategy(snapshot))


def base_learner(snapshot: Snapshot) -> ProbabilisticClassifier:
    """The project's learner, unfitted (a committee strategy trains copies of it)."""
    schema = snapshot.task.schema
    return classification_learner(
        schema.classes, c=snapshot.settings.regularization, multilabel=schema.multilabel
    )


def pool_scorer(scheduler: str | None, *, timeout: float = 30.0) -> PoolScorer:
    """Where the worker scores the pool: on the Dask cluster at ``scheduler``
    (``LABELWISE_DASK_SCHEDULER``; connected here) when an address is set, else in its
    own process on one thread per core. The ranking is the same either way.

    Raises
    ------
    ImportError
        When an address is set but the ``distributed`` extra is not installed.
    OSError
        When no scheduler answers at the address within ``timeout`` seconds: the server
        refuses to start rather than fail every retrain later.
    """
    if not scheduler:
        return LocalScorer(threads=os.cpu_count() or 1)
    scorer = DaskScorer(scheduler, timeout=timeout)
    scorer.client()
    return scorer


class SentenceBlock:
    """Where incremental rounds search neighbours: a stored pool's sentence vectors
    (texts alike in meaning), not its TF-IDF columns; other rows as they are."""

    def __call__(self, features: Any) -> Any:
        return features.sentence() if isinstance(features, StoredRows) else features

    def __repr__(self) -> str:
        # Stored in each model version's strategy name: no memory address.
        return "SentenceBlock()"


def project_strategy(
    snapshot: Snapshot,
    around: Callable[[QueryStrategy], QueryStrategy] | None = None,
    rounds: IncrementalRescoring | None = None,
) -> QueryStrategy:
    """The project's query strategy as ``labelwise simulate`` builds it (the recipe);
    ``around`` wraps it inside the class balance, and ``rounds`` (incremental rounds)
    outside everything."""
    settings = snapshot.settings
    strategy = classification_strategy(
        settings.strategy, class_balanced=settings.class_balanced, around=around
    )
    if rounds is None:
        return strategy
    rounds.base = strategy  # the settings may have changed since the last retrain
    return rounds


def train_and_rank(
    pool: Pool,
    snapshot: Snapshot,
    *,
    scorer: PoolScorer | None = None,
    rounds: IncrementalRescoring | None = None,
) -> Outcome:
    """Fit the project's learner on the snapshot and rank the unlabeled pool (no database);
    ``scorer`` says where the pool is scored (None: in this process), ``rounds`` keeps
    incremental rounds between calls (None: rank the whole pool)."""
    settings = snapshot.settings
    schema = snapshot.task.schema
    strategy = project_strategy(snapshot, rounds=rounds)
    distinct = {str(v) for v in snapshot.values}
    skipped = _too_few_labels(snapshot)
    if skipped is not None or len(pool) == 0:
        return _skipped(snapshot, skipped or "The pool has no items to train on.")
    learner: Any = base_learner(snapshot)
    if strategy.learner_capability == "member_proba":
        learner = Committee(learner, n_members=5, random_state=snapshot.project_id)
    loop = ActiveLearningLoop(
        learner, strategy, schema=schema, random_state=snapshot.project_id, scorer=scorer
    )
    state = LoopState(
        n_pool=len(pool),
        labeled=snapshot.positions,
        labels=schema.encode(snapshot.values),
        sources=np.asarray(snapshot.sources, dtype="<U5"),
        ignored=np.setdiff1d(
            np.concatenate([snapshot.excluded, snapshot.audit]), snapshot.positions
        ).astype(np.intp),
        iteration=snapshot.label_count,
        seed=snapshot.project_id,
    )
    t0 = time.perf_counter()
    weak = weak_training.weak_rows(
        snapshot, pool, learner, human_model=lambda: loop.fitted_learner(pool, state)
    )
    if weak.rows is None:
        model = loop.fitted_learner(pool, state)
    else:
        # Weak rows train but are not labeled: the loop still ranks their items.
        model = clone(learner).fit(
            pool.rows(weak.rows.positions),
            schema.decode(weak.rows.labels),
            sample_weight=weak.rows.weights,
        )
        loop.adopt(model, state)
    if weak.answer is not None:
        # The rules answer beside the retrained model when the queue is ranked.
        loop.strategy = project_strategy(snapshot, around=weak.answer.around, rounds=rounds)
    fit_seconds = time.perf_counter() - t0
    n = min(settings.queue_size, len(state.unlabeled()))
    t0 = time.perf_counter()
    query = loop.query(pool, state, n) if n else None
    query_seconds = time.perf_counter() - t0
    positions = np.zeros(0, dtype=np.intp) if query is None else query.indices
    scores = np.zeros(0) if query is None else np.asarray(query.scores, dtype=np.float64)
    suggestions: list[list[list[Any]]] = []
    if positions.size:
        proba = np.asarray(model.predict_proba(pool.rows(positions)))
        # Stable: ties (e.g. the zero columns of unseen classes) keep schema order.
        top = np.argsort(-proba, axis=1, kind="stable")[:, :SUGGESTIONS]
        suggestions = [
            [[schema.classes[j], round(float(proba[i, j]), 4)] for j in row]
            for i, row in enumerate(top)
        ]
    metrics: dict[str, Any] = {
        "labeled_items": int(len(snapshot.positions)),
        "classes_seen": len(distinct),
        # Exports name it beside each label this version's ranking served
        # (``chosen_by``): another model trained on those labels may gain less.
        "learner": learner_text(learner, settings.features),
        "fit_seconds": round(fit_seconds, 4),
        "query_seconds": round(query_seconds, 4),
        "scored_by": repr(scorer or LocalScorer()),
        "pool_size": len(pool),
        **_rescored(rounds if query is not None else None),
        **weak.metrics,
    }
    metrics.update(
        _held_out_accuracy(
            model, pool, snapshot.audit, snapshot.audit_values, snapshot.task, "audit"
        )
    )
    metrics.update(
        _held_out_accuracy(
            model, pool, snapshot.evaluation, snapshot.evaluation_values, snapshot.task, "eval"
        )
    )
    return Outcome(
        positions=positions,
        scores=scores,
        suggestions=suggestions,
        strategy=repr(loop.strategy),
        metrics=metrics,
        model=model,
    )


def _rescored(rounds: IncrementalRescoring | None) -> dict[str, Any]:
    """What an incremental round ranked: the whole pool or how many candidates."""
    if rounds is None:
        return {}
    return {"rescored": "full" if rounds.full_ else "candidates", "ranked": rounds.candidates_}


def learner_text(learner: Any, features: str) -> str:
    """The learner on one line, without its class list (a hundred intents would bury it):
    ``LogisticRegression(C=10.0, max_iter=1000) on minilm features``, or ``committee of 5
    x ...`` around it."""
    prefix = ""
    if isinstance(learner, Committee):
        prefix, learner = f"committee of {learner.n_members} x ", learner.learner
    estimator = getattr(learner, "estimator", learner)
    return f"{prefix}{' '.join(repr(estimator).split())} on {features} features"


def labels_saved(
    pool: Pool,
    snapshot: Snapshot,
    metrics: dict[str, Any],
    *,
    class_prior: dict[str, int] | None = None,
) -> RandomLabelsEstimate:
    """Random labels that would reach the model's held-out score, from the random labels.

    The project's unfitted base learner (a committee's members are copies of it: the
    random curve is about the labels, not the query strategy) is trained on random subsets
    of the audit labels (and of the evaluation set's, when it is like the pool). The
    target is the version's ``eval_accuracy`` when the project has an evaluation set, else
    its ``audit_accuracy`` (from ``metrics``), scored the same way: the task says when a
    prediction is right (multi-label: the whole set). ``class_prior`` is the pool's
    predicted class mix (single-label), which the random subsets follow.

    A ``ValueError`` of the estimate becomes an estimate that says it failed: a retrain
    never fails for it.
    """
    task = snapshot.task
    with_eval = snapshot.evaluation.size > 0
    scored_on = "evaluation set" if with_eval else "audit sample"
    score = metrics.get("eval_accuracy" if with_eval else "audit_accuracy")
    # No held-out score yet: NaN, which the stored dict holds as null.
    model_score = math.nan if score is None else float(score)
    model_labels = int(len(snapshot.positions))
    if snapshot.audit.size == 0:
        hint = (
            ""
            if snapshot.settings.audit_fraction > 0
            else " This project serves none: set audit_fraction above 0 to serve some."
        )
        return RandomLabelsEstimate(
            estimated=False,
            reason=(
                "No random audit labels yet: the estimate needs at least "
                f"{MIN_AUDIT_LABELS} labels on items served at random.{hint}"
            ),
            model_labels=model_labels,
            model_score=model_score,
            audit_labels=0,
            audit_labels_needed=MIN_AUDIT_LABELS,
            scored_on=scored_on,
        )

    def scorer(model: Any, features: Any, labels: Sequence[Any]) -> float:
        # The task's "right" (multi-label: the exact set), as audit_/eval_accuracy count it.
        predicted = task.predicted_values(model.predict(features))
        return float(np.mean(task.correct(predicted, list(labels))))

    trained_classes = set().union(*(class_names(v) or () for v in snapshot.values))
    try:
        return estimate_random_labels(
            base_learner(snapshot),
            pool.rows(snapshot.audit),
            # Canonical values are what the learner takes: a name, or a list of names.
            snapshot.audit_values,
            model_score=model_score,
            model_labels=model_labels,
            eval_features=pool.rows(snapshot.evaluation) if with_eval else None,
            eval_labels=snapshot.evaluation_values if with_eval else None,
            train_on_eval=snapshot.settings.evaluation_like_pool,
            class_prior=None if task.schema.multilabel or not class_prior else class_prior,
            pool_size=len(pool),
            scorer=scorer,
            n_classes=len(trained_classes) or None,
            random_state=snapshot.project_id,
        )
    except ValueError as exc:  # a failed estimate must not fail the retrain
        log.warning("labels-saved estimate of project %s failed: %s", snapshot.project_id, exc)
        return RandomLabelsEstimate(
            estimated=False,
            reason=f"The estimate failed: {exc}",
            model_labels=model_labels,
            model_score=model_score,
            audit_labels=int(snapshot.audit.size),
            scored_on=scored_on,
        )


def _finish_job(
    session: Session,
    job_id: int,
    progress: dict[str, Any],
    status: JobStatus = JobStatus.DONE,
) -> None:
    """End a background job that ran to completion: its status, what it reports, when."""
    begin_write(session)
    job = session.get_one(Job, job_id)
    job.status = status
    job.progress = {**job.progress, **progress}
    job.finished_at = _now()
    session.commit()


def _held_out_accuracy(
    model: Any,
    pool: Pool,
    positions: NDArray[np.intp],
    values: list[Any],
    task: Task,
    prefix: str,
) -> dict[str, Any]:
    """The task's metric on held-out items with a Wilson 95% interval, as
    ``{prefix}_accuracy``, ``{prefix}_n`` and ``{prefix}_ci95`` (nothing when there are none).

    The task says when one prediction is right (single-label: the same name; multi-label:
    the same set exactly, from the learner's ``predict``: every label with probability
    >= 0.5), so the estimate stays a binomial proportion and the Wilson interval applies.
    """
    if positions.size == 0:
        return {}
    predicted = task.predicted_values(model.predict(pool.rows(positions)))
    correct = int(task.correct(predicted, values).sum())
    n = int(positions.size)
    low, high = wilson_interval(correct, n)
    return {f"{prefix}_accuracy": correct / n, f"{prefix}_n": n, f"{prefix}_ci95": [low, high]}
