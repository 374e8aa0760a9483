"""Publishing a retrain: the model version, its saved model, its ranked queue, the swap.

One short transaction per retrain. The version's model is written to
``data_dir/projects/<id>/models/v<n>/`` (a :class:`~labelwise.textmodel.TextModel` folder:
featurizer, classifier and/or CRF, no pickle), which the predict endpoint serves and
``labelwise export-model`` copies out; ``ModelVersion.artifact_path`` names that folder.

Versions published before whole models were saved name a ``v<n>.npz`` of bare
coefficients (or a ``v<n>.crf.npz`` tagger). Those files stay where they are and stay
readable (``np.load``, ``CRFTagger.load``), but such a version cannot serve predictions:
its TF-IDF vocabulary was never kept, so its coefficients cannot be applied to new text.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from labelwise.service.events import record
from labelwise.service.snapshot import Outcome, Snapshot
from labelwise.service.transactions import begin_write
from labelwise.store import Item, Job, JobStatus, ModelVersion, Project, QueryRound, QueueEntry
from labelwise.textmodel import TextModel

#: Query rounds whose queue entries are kept (the live one and the one before it).
KEEP_ROUNDS = 2


#: Prefix of the folder a model is written to before its version exists.
STAGED = ".staged-"


def models_folder(data_dir: Path, project_id: int) -> Path:
    """Where a project's versions keep their saved models."""
    return Path(data_dir) / "projects" / str(project_id) / "models"


def model_folder(data_dir: Path, project_id: int, version: int) -> Path:
    """Where version ``version`` of a project keeps its saved model."""
    return models_folder(data_dir, project_id) / f"v{version}"


def remove_staged(data_dir: Path) -> int:
    """Remove models a stopped worker staged but never published; returns how many.

    Only for a worker that is starting (one worker per database): no publish runs then.
    """
    leftovers = list(Path(data_dir).glob(f"projects/*/models/{STAGED}*"))
    for folder in leftovers:
        shutil.rmtree(folder, ignore_errors=True)
    return len(leftovers)


def text_model(snapshot: Snapshot, outcome: Outcome, featurizer: Any) -> TextModel | None:
    """The model a retrain produced, ready to save; None when it was skipped.

    ``featurizer`` is the fitted featurizer behind the classifier's features (TF-IDF fit
    on the pool at this retrain, or the MiniLM embedder); a spans project has none.
    """
    if outcome.skipped is not None:
        return None
    return TextModel(
        snapshot.task,
        featurizer=None if outcome.model is None else featurizer,
        classifier=outcome.model,
        tagger=outcome.tagger,
    )


def publish(
    session: Session,
    job_id: int,
    snapshot: Snapshot,
    outcome: Outcome,
    *,
    model: TextModel | None,
    data_dir: Path,
    started: float,
) -> None:
    """One transaction: the new model version, its ranked queue, the swap, the job's end.

    The model is written before the transaction, into a staging folder beside the
    versions', and only renamed into place inside it: writing takes a second for a large
    model, and the writer lock is not held for that.
    """
    staged = None
    if outcome.skipped is None and model is not None:
        models = models_folder(data_dir, snapshot.project_id)
        models.mkdir(parents=True, exist_ok=True)
        staged = Path(tempfile.mkdtemp(dir=models, prefix=STAGED))
        model.save(staged, overwrite=True)
    try:
        _publish(session, job_id, snapshot, outcome, staged, data_dir, started)
    finally:
        if staged is not None and staged.exists():
            shutil.rmtree(staged, ignore_errors=True)


def _publish(
    session: Session,
    job_id: int,
    snapshot: Snapshot,
    outcome: Outcome,
    staged: Path | None,
    data_dir: Path,
    started: float,
) -> None:
    begin_write(session)
    job = session.get_one(Job, job_id)
    project = session.scalar(
        select(Project)
        .where(Project.id == snapshot.project_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert project is not None
    now = datetime.now(UTC)
    # The count this job trained on, which its version reports too (labels that arrived
    # after the job was queued are in the snapshot).
    job.label_count = snapshot.label_count
    if outcome.skipped is not None:
        # Nothing went wrong and nothing was produced: its own status and a plain note.
        job.status = JobStatus.SKIPPED
        job.progress = {**job.progress, "message": outcome.skipped}
        job.finished_at = now
        record(session, "retrain_skipped", project_id=project.id, job_id=job_id)
        session.commit()
        return
    if staged is None:
        raise ValueError("A retrain that was not skipped must hand over its model.")
    version = (
        session.scalar(
            select(func.max(ModelVersion.version)).where(ModelVersion.project_id == project.id)
        )
        or 0
    ) + 1
    folder = model_folder(data_dir, project.id, version)
    if folder.exists():
        # The leftover of a publish that failed after its rename: that version number
        # was never committed, so the folder belongs to no version.
        shutil.rmtree(folder)
    os.replace(staged, folder)
    model_version = ModelVersion(
        project_id=project.id,
        version=version,
        label_count=snapshot.label_count,
        metrics={**outcome.metrics, "seconds_total": round(time.perf_counter() - started, 4)},
        artifact_path=str(folder),
        created_at=now,
    )
    session.add(model_version)
    session.flush()
    round_ = QueryRound(
        project_id=project.id,
        model_version_id=model_version.id,
        strategy=outcome.strategy,
        n_scored=int(outcome.positions.size),
        seconds=float(outcome.metrics.get("query_seconds", 0.0)),
        created_at=now,
    )
    session.add(round_)
    session.flush()
    if outcome.positions.size:
        ids = dict(
            session.execute(
                select(Item.position, Item.id).where(
                    Item.project_id == project.id, Item.position.in_(outcome.positions.tolist())
                )
            ).all()
        )
        session.execute(
            insert(QueueEntry),
            [
                {
                    "round_id": round_.id,
                    "rank": rank,
                    "item_id": ids[int(position)],
                    "score": float(score),
                    "suggestions": suggestions,
                }
                for rank, (position, score, suggestions) in enumerate(
                    zip(outcome.positions, outcome.scores, outcome.suggestions, strict=True)
                )
            ],
        )
    project.current_round_id = round_.id
    old_rounds = select(QueryRound.id).where(
        QueryRound.project_id == project.id, QueryRound.id <= round_.id - KEEP_ROUNDS
    )
    session.execute(delete(QueueEntry).where(QueueEntry.round_id.in_(old_rounds)))
    job.status = JobStatus.DONE
    job.model_version_id = model_version.id
    job.finished_at = now
    record(
        session,
        "model_published",
        project_id=project.id,
        job_id=job_id,
        version=version,
        label_count=snapshot.label_count,
    )
    session.commit()
