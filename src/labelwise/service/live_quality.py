"""How the production model does on live traffic, from the random audit of ingested messages.

Ingested texts join the audit sample at the project's ``audit_fraction`` as they arrive
(``traffic.in_live_audit``), independently of every model. Once people label them, the
production bot's own prediction on each message (sent with the message at ingest) is
compared with the people's label: the share right is an unbiased estimate of accuracy on
live traffic, weighted by how often each text is asked. The disagreements, counted the
same way, give the most-confused pairs.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from labelwise.evaluation.intervals import wilson_interval
from labelwise.service.errors import NotFoundError
from labelwise.service.projects import task_of
from labelwise.service.transactions import end_read
from labelwise.store import Annotation, AnnotationKind, Item, Project, TrafficMessage


@dataclass(frozen=True)
class ConfusedPair:
    """Messages whose people's label is ``label`` but the bot answered ``predicted``."""

    label: str
    predicted: str
    messages: int


@dataclass(frozen=True)
class LiveQuality:
    """The production model on the audited share of live traffic.

    Attributes
    ----------
    audited_texts, audited_messages : int
        Audit texts with a people's label and at least one message carrying the bot's
        prediction; and those messages.
    accuracy : float or None
        Share of those messages the bot answered right (None before the first).
    ci95 : (float, float) or None
        Wilson 95% interval on the Kish effective sample size: messages of one text are
        right or wrong together, so a text asked 500 times is not 500 observations.
    effective_n : float
        ``(sum w)^2 / sum w^2`` over audited texts weighted by their message counts.
    confused : list of ConfusedPair
        Most frequent (label, bot prediction) disagreements, over every labeled traffic
        text (not only audited ones), most messages first.
    """

    audited_texts: int
    audited_messages: int
    accuracy: float | None
    ci95: tuple[float, float] | None
    effective_n: float
    confused: list[ConfusedPair]


def live_quality(session: Session, *, project_id: int, top: int = 10) -> LiveQuality:
    """Estimated accuracy on live traffic and the ``top`` most-confused pairs."""
    project = session.get(Project, project_id)
    if project is None:
        raise NotFoundError(f"Project {project_id} does not exist.")
    task = task_of(project)
    values: dict[int, list[Any]] = defaultdict(list)
    audit: dict[int, bool] = {}
    for item_id, value, is_audit in session.execute(
        select(Annotation.item_id, Annotation.value, Item.is_audit)
        .join(Item, Item.id == Annotation.item_id)
        .where(
            Annotation.project_id == project_id,
            Annotation.kind == AnnotationKind.LABEL,
            Annotation.undone_at.is_(None),
            Item.id.in_(
                select(TrafficMessage.item_id).where(TrafficMessage.project_id == project_id)
            ),
        )
        .order_by(Annotation.id)
    ):
        values[item_id].append(value)
        audit[item_id] = bool(is_audit)
    truth = {item: task.class_names(task.consensus(vals)) for item, vals in values.items()}
    per_text: dict[int, list[bool]] = defaultdict(list)
    confused: Counter[tuple[str, str]] = Counter()
    if truth:
        rows = session.execute(
            select(TrafficMessage.item_id, TrafficMessage.predicted).where(
                TrafficMessage.project_id == project_id,
                TrafficMessage.predicted.is_not(None),
                TrafficMessage.item_id.in_(list(truth)),
            )
        )
        for item_id, predicted in rows:
            names = truth[item_id]
            if names is None:
                continue
            answer = frozenset([predicted] if isinstance(predicted, str) else map(str, predicted))
            if audit[item_id]:
                per_text[item_id].append(answer == names)
            if answer != names and len(answer) == 1 and len(names) == 1:
                confused[(next(iter(names)), next(iter(answer)))] += 1
    end_read(session)
    return _summarize(per_text, confused, top)


def _summarize(
    per_text: dict[int, list[bool]], confused: Counter[tuple[str, str]], top: int
) -> LiveQuality:
    weights = [len(v) for v in per_text.values()]
    messages = sum(weights)
    pairs = [
        ConfusedPair(label, predicted, n)
        for (label, predicted), n in sorted(confused.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    ]
    if messages == 0:
        return LiveQuality(0, 0, None, None, 0.0, pairs)
    right = sum(sum(v) for v in per_text.values())
    accuracy = right / messages
    effective_n = messages**2 / sum(w * w for w in weights)
    # The interval of a proportion observed on ``effective_n`` independent draws.
    low, high = wilson_interval(round(accuracy * effective_n), round(effective_n))
    return LiveQuality(
        audited_texts=len(per_text),
        audited_messages=messages,
        accuracy=accuracy,
        ci95=(low, high),
        effective_n=effective_n,
        confused=pairs,
    )
