"""The dashboard page: is active learning helping this project?

The numbers come from ``labelwise.service.dashboard`` (the same as
``GET /api/projects/{id}/dashboard``); this module only shapes them for the page and
draws the charts server-side (``charts``), so the page needs no script at all.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from sqlalchemy.orm import Session

from labelwise.evaluation.labels_saved import RandomLabelsEstimate
from labelwise.server.deps import SentencesDep, SessionDep
from labelwise.server.ui import charts
from labelwise.server.ui.pages import UiProjectAdmin, render, session_csrf
from labelwise.service import (
    dashboard,
    feedback,
    intent_discovery,
    labeling_functions,
    live_quality,
    model_versions,
    projects,
    traffic,
    weak_analysis,
)
from labelwise.service.dashboard import AnnotatorActivity, Dashboard, VersionPoint
from labelwise.service.learning_health import (
    ActiveLearningSignals,
    about_labels,
    labels_saved_text,
)
from labelwise.service.sentence_vectors import SentenceVectors
from labelwise.store import Project, TaskType

router = APIRouter(prefix="/ui/projects/{project_id}", include_in_schema=False)

#: Classes listed in the sampling-bias table: those whose share of the labels differs
#: most from their share of the pool's predictions. All of them are in the API.
BIAS_ROWS = 15
EVALUATION_SET = "held-out evaluation set"
AUDIT_SAMPLE = "random audit sample"
#: Task kinds whose page shows span F1 and entities per type.
SPAN_TASKS = frozenset({"spans", "intents_entities"})
#: Model versions drawn as small-multiple uncertainty histograms (the latest ones).
HISTOGRAMS = 6
#: Shown after an action that redirects here (post/redirect/get carries a key, never text).
DONE_MESSAGES = {"promoted": "Model promoted: predictions now come from it."}


@dataclass(frozen=True)
class ProgressView:
    items: int
    labeled: int
    skipped: int
    flagged: int
    queued: int
    labeled_share: float
    chart: Markup


@dataclass(frozen=True)
class ClassRow:
    name: str
    labels: int
    label_share: float
    pool_share: float | None
    label_bar: Markup
    pool_bar: Markup | None


@dataclass(frozen=True)
class BiasView:
    """Labels per class against the pool's predicted classes.

    ``distance`` is the total variation distance between the two distributions
    (half the sum of absolute share differences): 0 means the labels mirror the pool,
    1 means they share no class. ``None`` until a model has predicted the pool.
    """

    rows: list[ClassRow]
    distance: float | None
    classes_labeled: int
    classes_predicted: int
    hidden: int


@dataclass(frozen=True)
class AnnotatorRow:
    activity: AnnotatorActivity
    bar: Markup


@dataclass(frozen=True)
class HistogramView:
    version: int
    label_count: int
    chart: Markup


@dataclass(frozen=True)
class HelpingView:
    """The "is active learning helping?" panel: the sentence, the numbers behind it, and
    the failure signals.

    ``point``, ``interval``, ``saving`` and ``saving_interval`` are ready to print
    ("4,200", "3,100–6,000", "4.2×", "3.1–6.0×"); None when there is no such number (no
    best guess: the interval, "at least 3,100", is then the answer).
    """

    text: str | None
    estimate: RandomLabelsEstimate | None
    point: str | None
    interval: str | None
    saving: str | None
    saving_interval: str | None
    signals: ActiveLearningSignals


def _interval(low: float | None, high: float | None, show: Callable[[float], str]) -> str | None:
    """``low–high``; ``at least low`` without an upper bound; None without a lower end."""
    if low is None or not math.isfinite(low):
        return None
    if high is None or not math.isfinite(high):
        return f"at least {show(low)}"
    return f"{show(low)}–{show(high)}"


def helping_view(data: Dashboard) -> HelpingView:
    """The labels-saved estimate and the signals, shaped for the page."""
    estimate = data.labels_saved
    point = interval = saving = saving_interval = None
    if estimate is not None and estimate.estimated:
        labels = estimate.random_labels
        point = about_labels(labels) if labels is not None and math.isfinite(labels) else None
        interval = _interval(estimate.low, estimate.high, about_labels)
        if estimate.saving is not None and math.isfinite(estimate.saving):
            saving = f"{estimate.saving:.1f}×"
            ends = _interval(estimate.saving_low, estimate.saving_high, lambda x: f"{x:.1f}")
            saving_interval = None if ends is None else f"{ends}×"
    return HelpingView(
        text=None if estimate is None else labels_saved_text(estimate),
        estimate=estimate,
        point=point,
        interval=interval,
        saving=saving,
        saving_interval=saving_interval,
        signals=data.signals,
    )


def progress_view(data: Dashboard) -> ProgressView:
    status = data.status
    rest = max(status.items - status.labeled_items - status.skipped - status.flagged, 0)
    share = status.labeled_items / status.items if status.items else 0.0
    return ProgressView(
        items=status.items,
        labeled=status.labeled_items,
        skipped=status.skipped,
        flagged=status.flagged,
        queued=data.queued,
        labeled_share=share,
        chart=charts.stacked_bar(
            [
                ("labeled", status.labeled_items, "primary"),
                ("skipped", status.skipped, "secondary"),
                ("flagged", status.flagged, "warn"),
                ("not yet labeled", rest, "none"),
            ],
            label=f"{status.labeled_items:,} of {status.items:,} items labeled",
        ),
    )


def bias_view(data: Dashboard, rows: int = BIAS_ROWS) -> BiasView:
    """Labels per class against the pool's predicted classes."""
    return _shares(data.labels_per_class, data.pool_predicted, rows)


def entity_view(data: Dashboard, rows: int = BIAS_ROWS) -> BiasView:
    """Human-labeled entities per type against the tagger's on a pool sample (span tasks)."""
    return _shares(data.entities_labeled, data.entities_predicted, rows)


def _shares(labels: dict[str, int], pool: dict[str, int], rows: int) -> BiasView:
    label_total, pool_total = sum(labels.values()), sum(pool.values())
    names = set(labels) | set(pool)

    def label_share(name: str) -> float:
        return labels.get(name, 0) / label_total if label_total else 0.0

    def pool_share(name: str) -> float | None:
        return pool.get(name, 0) / pool_total if pool_total else None

    distance = (
        0.5 * sum(abs(label_share(n) - (pool_share(n) or 0.0)) for n in names)
        if pool_total and label_total
        else None
    )
    if pool_total:
        order = sorted(names, key=lambda n: (-abs(label_share(n) - (pool_share(n) or 0.0)), n))
    else:
        order = sorted(names, key=lambda n: (-labels.get(n, 0), n))
    top = max([label_share(n) for n in names] + [pool_share(n) or 0.0 for n in names] + [1e-9])
    shown = []
    for name in order[:rows]:
        share, predicted = label_share(name), pool_share(name)
        shown.append(
            ClassRow(
                name=name,
                labels=labels.get(name, 0),
                label_share=share,
                pool_share=predicted,
                label_bar=charts.bar(share / top, label=f"{name}: {share:.1%} of labels"),
                pool_bar=None
                if predicted is None
                else charts.bar(
                    predicted / top,
                    label=f"{name}: {predicted:.1%} of the pool predicted",
                    tone="secondary",
                ),
            )
        )
    return BiasView(
        rows=shown,
        distance=distance,
        classes_labeled=len(labels),
        classes_predicted=len(pool),
        hidden=max(len(order) - rows, 0),
    )


def annotator_rows(data: Dashboard) -> list[AnnotatorRow]:
    most = max([a.labels for a in data.annotators] + [1])
    return [
        AnnotatorRow(
            activity=a, bar=charts.bar(a.labels / most, label=f"{a.username}: {a.labels:,} labels")
        )
        for a in data.annotators
    ]


def _metric_points(
    versions: list[VersionPoint], metric: Literal["audit", "eval"], score: str
) -> list[charts.CurvePoint]:
    """One point per version that has ``{metric}_{score}`` (score: accuracy or span_f1)."""
    points = []
    interval_key = f"{metric}_ci95" if score == "accuracy" else f"{metric}_{score}_ci95"
    for v in versions:
        value = getattr(v, f"{metric}_{score}")
        interval = getattr(v, interval_key)
        if value is None:
            continue
        what = "span F1 " if score == "span_f1" else ""
        note = f"v{v.version}, {v.label_count:,} labels: {what}{value:.1%}"
        if interval:
            n = getattr(v, f"{metric}_n")
            note += f" (95% CI {interval[0]:.1%}–{interval[1]:.1%}, n={n})"
        points.append(
            charts.CurvePoint(
                x=v.label_count,
                y=value,
                low=interval[0] if interval else None,
                high=interval[1] if interval else None,
                note=note,
            )
        )
    return points


def curve_series(
    versions: list[VersionPoint], score: Literal["accuracy", "span_f1"] = "accuracy"
) -> list[charts.CurveSeries]:
    """The learning curve's lines: the held-out evaluation set and the audit sample."""
    lines = [
        charts.CurveSeries(EVALUATION_SET, _metric_points(versions, "eval", score), "primary"),
        charts.CurveSeries(AUDIT_SAMPLE, _metric_points(versions, "audit", score), "secondary"),
    ]
    return [line for line in lines if line.points]


def learning_curve(
    series: list[charts.CurveSeries], score: Literal["accuracy", "span_f1"] = "accuracy"
) -> Markup:
    """The score per model version on each held-out set, with 95% intervals (Wilson for
    accuracy, a sentence bootstrap for span F1)."""
    if score == "span_f1":
        return charts.learning_curve(
            series,
            x_label="sentences the model was trained on",
            y_label="span F1",
            title="Learning curve: strict span F1 per model version on held-out sentences, "
            "bootstrap 95% intervals",
        )
    return charts.learning_curve(
        series,
        x_label="human labels the model was trained on",
        y_label="accuracy",
        title="Learning curve: accuracy per model version on held-out items, 95% intervals",
    )


def histogram_views(versions: list[VersionPoint], count: int = HISTOGRAMS) -> list[HistogramView]:
    drawn = [v for v in versions if v.margin_histogram][-count:]
    y_max = max((max(v.margin_histogram or [0]) for v in drawn), default=0)
    return [
        HistogramView(
            version=v.version,
            label_count=v.label_count,
            chart=charts.histogram(
                v.margin_histogram or [],
                y_max=y_max,
                title=f"Model v{v.version}: pool items per margin bin",
            ),
        )
        for v in drawn
    ]


def weak_supervision_view(
    session: Session, project: Project, sentences: SentenceVectors | None
) -> dict[str, Any]:
    """Weak against gold coverage and the labeling functions' table (single-label projects)."""
    if project.task is not TaskType.SINGLE_LABEL:
        return {"weak": None, "weak_report": None}
    coverage = weak_analysis.weak_coverage(session, project_id=project.id, sentences=sentences)
    report = (
        labeling_functions.list_labeling_functions(
            session, project_id=project.id, sentences=sentences
        )
        if coverage.functions
        else None
    )
    return {"weak": coverage, "weak_report": report}


@router.get("/dashboard")
def dashboard_page(
    request: Request,
    project_id: int,
    session: SessionDep,
    user: UiProjectAdmin,
    sentences: SentencesDep,
) -> HTMLResponse:
    """The project's dashboard (project admins only: it shows each annotator's pace)."""
    project = projects.get_project(session, project_id=project_id)
    audit_fraction = projects.parse_settings(project.settings).audit_fraction
    data = dashboard.project_dashboard(session, project_id=project_id)
    spans = data.task in SPAN_TASKS
    series = curve_series(data.versions, "span_f1" if spans else "accuracy")
    # Intents+entities: the span curve above, the intent classifier's accuracy below.
    intent_series = curve_series(data.versions) if data.task == "intents_entities" else []
    latest = data.versions[-1] if data.versions else None
    # Which version serves predictions, and which could (the table's promote links).
    serving = {v.version: v for v in model_versions.list_versions(session, project_id=project_id)}
    return render(
        request,
        "dashboard.html",
        {
            "user": user,
            "project": project,
            "task": projects.task_of(project),
            "spans": spans,
            "csrf_token": session_csrf(request),
            "now": datetime.now(UTC),
            "audit_fraction": audit_fraction,
            "data": data,
            "progress": progress_view(data),
            "bias": bias_view(data),
            "entities": entity_view(data) if spans else None,
            "latest": latest,
            "annotators": annotator_rows(data),
            "series": series,
            "curve": learning_curve(series, "span_f1" if spans else "accuracy"),
            "helping": helping_view(data),
            "intent_series": intent_series,
            "intent_curve": learning_curve(intent_series) if intent_series else None,
            "histograms": histogram_views(data.versions),
            "versions": list(reversed(data.versions)),
            "serving": serving,
            "message": DONE_MESSAGES.get(request.query_params.get("done", ""), ""),
            "traffic": traffic.summarize_traffic(session, project_id=project_id),
            "live": live_quality.live_quality(session, project_id=project_id),
            "feedback": feedback.feedback_funnel(session, project),
            "open_clusters": intent_discovery.count_open_clusters(session, project_id=project_id),
            **weak_supervision_view(session, project, sentences),
        },
    )
