"""The dashboard page: who may open it, what it shows after a labeling run, escaping."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

import pytest
from markupsafe import escape

from labelwise.server.ui import dashboard as page
from labelwise.service import dashboard, traffic, training
from labelwise.service.dashboard import Dashboard, VersionPoint
from labelwise.service.learning_health import labels_saved_text
from labelwise.service.projects import ProjectStatus
from labelwise.service.training import RetrainWorker
from labelwise.store import TaskType
from tests.server.ui.helpers import XSS_TEXT, helping_run, simulated_run, ui_login
from tests.service.estimates import an_estimate as _estimate
from tests.service.span_factory import label_items, make_span_project


def _status(**counts: int) -> ProjectStatus:
    defaults = {
        "items": 10,
        "evaluation_items": 0,
        "labeled_items": 0,
        "annotations": 0,
        "skipped": 0,
        "flagged": 0,
    }
    return ProjectStatus(
        project_id=1, name="p", model_version=None, jobs={}, **{**defaults, **counts}
    )


def _version(version: int, labels: int, **metrics: object) -> VersionPoint:
    fields: dict[str, object] = {
        "audit_accuracy": None,
        "audit_ci95": None,
        "audit_n": None,
        "eval_accuracy": None,
        "eval_ci95": None,
        "eval_n": None,
        "mean_confidence": None,
        "stop_kappa": None,
        "stop_changed": None,
        "margin_histogram": None,
    }
    fields.update(metrics)
    return VersionPoint(
        version=version,
        label_count=labels,
        created_at=datetime(2026, 11, 25, tzinfo=UTC),
        **fields,  # type: ignore[arg-type]
    )


def _board(**changes: object) -> Dashboard:
    fields: dict[str, object] = {
        "status": _status(),
        "queued": 0,
        "labels_per_class": {},
        "pool_predicted": {},
        "annotators": [],
        "versions": [],
        "stopping": [],
        "jobs": [],
    }
    fields.update(changes)
    return Dashboard(**fields)  # type: ignore[arg-type]


class TestBiasView:
    def test_distance_is_total_variation_between_label_and_pool_shares(self):
        view = page.bias_view(
            _board(labels_per_class={"a": 3, "b": 1}, pool_predicted={"a": 1, "b": 1, "c": 2})
        )
        # label shares (.75, .25, 0) against pool shares (.25, .25, .5): half of 1.0
        assert view.distance == pytest.approx(0.5)
        assert [r.name for r in view.rows] == ["a", "c", "b"]  # most different first
        assert view.classes_labeled == 2
        assert view.classes_predicted == 3

    def test_identical_distributions_have_distance_zero(self):
        view = page.bias_view(
            _board(labels_per_class={"a": 2, "b": 2}, pool_predicted={"a": 5, "b": 5})
        )
        assert view.distance == pytest.approx(0.0)

    def test_without_pool_predictions_rows_follow_label_counts(self):
        view = page.bias_view(_board(labels_per_class={"a": 1, "b": 5}))
        assert view.distance is None
        assert [r.name for r in view.rows] == ["b", "a"]
        assert all(r.pool_bar is None for r in view.rows)

    def test_rows_are_capped_and_the_rest_counted(self):
        labels = {f"c{i}": i + 1 for i in range(40)}
        view = page.bias_view(_board(labels_per_class=labels), rows=15)
        assert len(view.rows) == 15
        assert view.hidden == 25


class TestProgressView:
    def test_counts_and_share(self):
        view = page.progress_view(
            _board(status=_status(items=200, labeled_items=50, skipped=5, flagged=2), queued=120)
        )
        assert (view.labeled, view.skipped, view.flagged, view.queued) == (50, 5, 2, 120)
        assert view.labeled_share == pytest.approx(0.25)
        assert "50 of 200 items labeled" in view.chart


class TestCharts:
    def test_curve_plots_only_versions_with_a_held_out_accuracy(self):
        versions = [
            _version(1, 20),
            _version(2, 40, audit_accuracy=0.6, audit_ci95=[0.4, 0.77], audit_n=20),
            _version(3, 60, audit_accuracy=0.7, audit_ci95=[0.5, 0.85], audit_n=20),
        ]
        series = page.curve_series(versions)
        assert [s.name for s in series] == [page.AUDIT_SAMPLE]
        svg = str(page.learning_curve(series))
        assert svg.count("<circle") == 2
        assert "v3, 60 labels: 70.0% (95% CI 50.0%–85.0%, n=20)" in svg
        assert page.curve_series([_version(1, 20)]) == []
        assert page.learning_curve([]) == ""

    def test_evaluation_set_and_audit_sample_are_two_lines(self):
        versions = [
            _version(1, 20, eval_accuracy=0.5, eval_ci95=[0.45, 0.55], eval_n=400),
            _version(2, 40, eval_accuracy=0.6, eval_ci95=[0.55, 0.65], eval_n=400),
            _version(3, 60, eval_accuracy=0.7, audit_accuracy=0.75, audit_n=8),
        ]
        series = page.curve_series(versions)
        assert [(s.name, len(s.points)) for s in series] == [
            (page.EVALUATION_SET, 3),
            (page.AUDIT_SAMPLE, 1),
        ]
        assert series[0].points[0].low == 0.45

    def test_histograms_show_the_latest_versions_on_one_scale(self):
        versions = [_version(v, 10 * v, margin_histogram=[v, 2 * v]) for v in range(1, 9)]
        views = page.histogram_views(versions, count=6)
        assert [v.version for v in views] == [3, 4, 5, 6, 7, 8]
        # Version 8's tallest bin (16) is the shared full height: smaller bins draw shorter.
        heights = [
            float(h)
            for h in re.findall(
                r'<rect class="fill primary"[^>]*height="([\d.]+)"', str(views[0].chart)
            )
        ]
        assert heights[1] == pytest.approx(heights[0] * 2, abs=0.02)  # two-decimal coordinates
        tallest = re.findall(r'height="([\d.]+)"', str(views[-1].chart))
        assert float(tallest[-1]) > heights[1]


def admin_view(client, world, project_id: int) -> str:
    """The dashboard's HTML as the project's admin sees it."""
    ui_login(client, world.admin.username)
    response = client.get(f"/ui/projects/{project_id}/dashboard")
    assert response.status_code == 200, response.text
    html: str = response.text
    return html


class TestHelpingView:
    def test_the_numbers_are_ready_to_print(self):
        view = page.helping_view(_board(labels_saved=_estimate()))
        assert (view.point, view.interval) == ("4,200", "3,100–6,000")
        assert (view.saving, view.saving_interval) == ("4.2×", "3.1–6.0×")
        assert view.text is not None and view.text.startswith("Random sampling would need about")

    def test_no_upper_bound(self):
        view = page.helping_view(
            _board(labels_saved=_estimate(high=math.inf, saving_high=math.inf))
        )
        assert (view.interval, view.saving_interval) == ("at least 3,100", "at least 3.1×")

    def test_no_best_guess_leaves_the_interval(self):
        view = page.helping_view(
            _board(labels_saved=_estimate(random_labels=math.inf, high=math.inf, saving=None))
        )
        assert (view.point, view.interval, view.saving) == (None, "at least 3,100", None)

    def test_nothing_estimated_yet(self):
        view = page.helping_view(_board())
        assert view.text is None and view.point is None
        lacking = _estimate(estimated=False, audit_labels=10, audit_labels_needed=30)
        view = page.helping_view(_board(labels_saved=lacking))
        assert view.text == "Not enough random audit labels to say yet: 10 so far, 30 more needed."
        assert view.point is None and view.interval is None


class TestPage:
    def test_the_helping_panel_shows_the_estimate_and_the_warnings(
        self, client, world, session_factory, settings
    ):
        project_id = helping_run(world, session_factory, settings, skipped=15)
        html = admin_view(client, world, project_id)
        panel = html.split('id="h-helping"')[1].split("</section>")[0]
        assert ">Is active learning helping?</h2>" in panel
        with session_factory() as session:
            estimate = dashboard.project_dashboard(session, project_id=project_id).labels_saved
        assert estimate is not None and estimate.estimated
        assert str(escape(labels_saved_text(estimate))) in panel
        assert re.search(r'id="stat-audit-labels">50<', panel)
        assert "Active learning may be chasing unlabelable or out-of-scope items" in panel
        assert '<th scope="row">Actively chosen</th><td class="num">21</td>' in panel
        assert "Class-mix drift per version" in panel

    def test_the_helping_panel_before_any_model(self, client, world):
        html = admin_view(client, world, world.project.id)
        panel = html.split('id="h-helping"')[1].split("</section>")[0]
        assert "No model version has estimated it yet" in panel
        assert "No version has measured the class-mix drift yet." in panel

    def test_shows_the_run(self, client, factory, world, session_factory, settings):
        project_id = simulated_run(factory, world, session_factory, settings, audit=0.3)
        ui_login(client, world.admin.username)
        response = client.get(f"/ui/projects/{project_id}/dashboard")
        html = response.text
        assert response.status_code == 200, html
        assert re.search(r'id="stat-labeled">12\b', html)
        for heading in (
            "Progress",
            "Learning curve",
            "Stopping signals",
            "Annotators",
            "Labels per class against the pool",
            "Pool uncertainty per model version",
            "Model versions",
            "Retrain jobs",
        ):
            assert f">{heading}</h2>" in html
        assert 'class="chart histogram"' in html
        assert '<th scope="row">v1</th>' in html
        assert '<span class="status">done</span>' in html
        assert f'<th scope="row">{world.admin.username}</th>' in html
        # No inline style anywhere: the CSP (style-src 'self') would block it.
        assert not re.search(r"\sstyle=", html)
        assert "style-src 'self'" in response.headers["content-security-policy"]

    def test_production_traffic_shows_once_there_is_traffic(self, client, world, session_factory):
        ui_login(client, world.admin.username)
        url = f"/ui/projects/{world.project.id}/dashboard"
        assert "Production traffic" not in client.get(url).text
        with session_factory() as session:
            traffic.ingest_traffic(
                session,
                project_id=world.project.id,
                messages=[
                    {"text": XSS_TEXT, "confidence": 0.9},
                    {"text": XSS_TEXT, "confidence": 0.2},
                    {"text": "hello"},
                ],
            )
        html = client.get(url).text
        assert ">Production traffic</h2>" in html
        assert "<script>" not in html.split("</header>")[1]
        assert "&lt;script&gt;" in html
        assert re.search(r"<dt>Coverage[^<]*</dt>\s*<dd>50%</dd>", html)
        assert "no audited message labeled yet" in html
        assert "most-confused" not in html  # nothing labeled: no pairs table
        # The grouping job behind the traffic is not listed among the retrain jobs.
        assert "group_traffic" not in html and "ingest</td>" not in html

    def test_live_accuracy_and_confused_pairs_from_the_audited_traffic(
        self, client, world, session_factory
    ):
        from sqlalchemy import select, update

        from labelwise.service import queue
        from labelwise.service.transactions import begin_write
        from labelwise.store import Item

        ui_login(client, world.admin.username)
        with session_factory() as session:
            traffic.ingest_traffic(
                session,
                project_id=world.project.id,
                messages=[
                    {"text": "hi there", "prediction": "greet"},
                    {"text": "see you", "prediction": "greet"},
                ],
            )
            begin_write(session)
            session.execute(update(Item).values(is_audit=True))
            session.commit()
            for text, label in [("hi there", "greet"), ("see you", "bye")]:
                item = session.scalar(select(Item).where(Item.text == text))
                queue.submit_annotation(
                    session,
                    project_id=world.project.id,
                    annotator=world.admin,
                    item_id=item.id,
                    value=label,
                )
        html = client.get(f"/ui/projects/{world.project.id}/dashboard").text
        assert re.search(r"Accuracy on live traffic[^<]*</dt>\s*<dd>50\.0%", html)
        assert "2 messages of 2 texts" in html
        assert re.search(r"<td>bye</td><td>greet</td><td class=\"num\">1</td>", html)

    def test_audit_points_when_the_audit_sample_is_labeled(
        self, client, factory, world, session_factory, settings
    ):
        project_id = simulated_run(factory, world, session_factory, settings, audit=0.5)
        html = admin_view(client, world, project_id)
        assert 'aria-label="Learning curve: accuracy per model version on held-out items' in html
        assert '<li class="secondary">random audit sample</li>' in html
        assert "<circle" in html

    def test_the_evaluation_set_is_a_second_line(
        self, client, factory, world, session_factory, settings
    ):
        project_id = simulated_run(
            factory, world, session_factory, settings, audit=0.0, evaluation=True
        )
        html = admin_view(client, world, project_id)
        assert '<li class="primary">held-out evaluation set</li>' in html
        assert "random audit sample</li>" not in html
        assert '<g class="series primary">' in html
        assert "n=12)" in html  # every version scored on all 12 held-out items

    def test_a_multi_label_curve_counts_exact_matches(
        self, client, factory, world, session_factory, settings
    ):
        project_id = simulated_run(
            factory,
            world,
            session_factory,
            settings,
            audit=0.0,
            evaluation=True,
            task=TaskType.MULTI_LABEL,
        )
        html = admin_view(client, world, project_id)
        assert '<g class="series primary">' in html
        assert "n=12)" in html
        assert "whole label set is (exact match)" in html

    def test_says_how_to_get_a_learning_curve_without_an_audit_sample(
        self, client, factory, world, session_factory, settings
    ):
        project_id = simulated_run(factory, world, session_factory, settings, audit=0.0)
        html = admin_view(client, world, project_id)
        assert "no random audit sample" in html
        assert "<circle" not in html

    def test_failed_jobs_show_their_error(
        self, client, factory, world, session_factory, settings, monkeypatch
    ):
        project = factory.project(world.admin, name="fails", settings={"min_labels": 2})
        factory.items(project, [{"text": "hi", "label": "greet"}, {"text": "bye", "label": "bye"}])
        client.post(f"/api/projects/{project.id}/jobs/retrain", headers=world.admin_headers)

        def broken(*_args, **_kwargs):
            raise RuntimeError("disk <full>")

        monkeypatch.setattr(training, "train_and_rank", broken)
        RetrainWorker(session_factory, data_dir=settings.data_dir).run_pending()
        ui_login(client, world.admin.username)
        jobs = client.get(f"/ui/projects/{project.id}/dashboard").text.split('id="h-jobs"')[1]
        assert '<tr class="status-failed">' in jobs
        assert "disk &lt;full&gt;" in jobs

    def test_skipped_jobs_show_their_own_status_and_a_plain_note(
        self, client, factory, world, session_factory, settings
    ):
        project = factory.project(world.admin, name="skips", settings={"min_labels": 2})
        factory.items(
            project, [{"text": "hi", "label": "greet"}, {"text": "hey", "label": "greet"}]
        )
        client.post(f"/api/projects/{project.id}/jobs/retrain", headers=world.admin_headers)
        RetrainWorker(session_factory, data_dir=settings.data_dir).run_pending()
        ui_login(client, world.admin.username)
        jobs = client.get(f"/ui/projects/{project.id}/dashboard").text.split('id="h-jobs"')[1]
        assert '<tr class="status-skipped">' in jobs and ">skipped</span>" in jobs
        assert '<td class="note-text">Skipped: 2 labeled items in 1 class so far' in jobs
        assert "error-text" not in jobs

    def test_data_is_escaped(self, client, factory, world):
        project = factory.project(
            world.admin, name="<b>x</b>", labels=("<img src=x onerror=alert(1)>", "ok")
        )
        evil = factory.user("<script>alert(1)</script>")
        factory.member(project, evil)
        factory.items(project, [{"text": XSS_TEXT, "label": "<img src=x onerror=alert(1)>"}])
        ui_login(client, world.admin.username)
        html = client.get(f"/ui/projects/{project.id}/dashboard").text
        assert "<img src=x" not in html
        assert "<b>x</b>" not in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html


class TestWhoMayOpenIt:
    def test_annotators_and_outsiders_get_403(self, client, factory, world):
        other = factory.project(world.admin, name="other")
        ui_login(client, world.annotator.username)
        for project_id in (world.project.id, other.id, 999999):
            response = client.get(f"/ui/projects/{project_id}/dashboard")
            assert response.status_code == 403
            assert "Stopping signals" not in response.text

    def test_anonymous_visitors_go_to_the_log_in_form(self, client, world):
        response = client.get(f"/ui/projects/{world.project.id}/dashboard", follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (303, "/ui/login")

    def test_a_project_admin_who_is_not_site_admin_may(self, client, factory, world):
        from labelwise.store import Role

        lead = factory.user("lead")
        factory.member(world.project, lead, Role.ADMIN)
        ui_login(client, lead.username)
        assert client.get(f"/ui/projects/{world.project.id}/dashboard").status_code == 200
        projects_page = client.get("/ui/projects").text
        assert f"/ui/projects/{world.project.id}/dashboard" in projects_page
        annotate = client.get(f"/ui/projects/{world.project.id}").text
        assert f'href="/ui/projects/{world.project.id}/dashboard"' in annotate

    def test_annotators_see_no_admin_links(self, client, world):
        ui_login(client, world.annotator.username)
        assert "/dashboard" not in client.get("/ui/projects").text
        assert "/dashboard" not in client.get(f"/ui/projects/{world.project.id}").text


class TestSpanProjects:
    def test_the_curve_is_span_f1_and_entities_are_counted_per_type(
        self, client, world, session_factory, settings
    ):
        with session_factory() as session:
            project, truth = make_span_project(session, world.admin, n_items=90, n_evaluation=20)
            ids = sorted(truth)
            worker = RetrainWorker(session_factory, data_dir=settings.data_dir)
            for batch in (ids[:12], ids[12:24]):
                label_items(session, project, world.admin, truth, batch)
                worker.run_pending()
            board = dashboard.project_dashboard(session, project_id=project.id)
        series = page.curve_series(board.versions, "span_f1")
        assert [line.name for line in series] == [page.EVALUATION_SET]
        assert [p.x for p in series[0].points] == [12, 24]
        assert all(
            p.low is not None and p.high is not None and p.low <= p.y <= p.high
            for p in series[0].points
        )
        html = admin_view(client, world, project.id)
        assert "strict span F1" in html and "Audit span F1" in html
        assert 'id="h-entities"' in html and 'id="h-bias"' not in html
        assert "a random sample of 46 unlabeled sentences" in " ".join(html.split())
        assert 'id="stat-sentences">24' in html
