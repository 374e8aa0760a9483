"""The admin pages: manage a project, add users, create projects; who may; CSRF; errors."""

from __future__ import annotations

import inspect

import pytest

from labelwise.server.ui import admin
from labelwise.service import projects, service_tokens
from labelwise.service.training import RetrainWorker
from labelwise.store import Role, TaskType
from tests.server.ui.helpers import XSS_TEXT, ui_login


def _settings(session_factory, project_id):
    with session_factory() as session:
        return projects.get_project(session, project_id=project_id).settings


class TestWhoMayOpenThem:
    def test_annotators_get_403_on_every_admin_page_and_action(self, client, world):
        csrf = ui_login(client, world.annotator.username)
        pid = world.project.id
        for path in (f"/ui/projects/{pid}/manage", "/ui/admin/users", "/ui/admin/projects/new"):
            response = client.get(path)
            assert response.status_code == 403, path
            assert "csrf_token" not in response.text.split("</header>")[1]
        for path, data in (
            (f"/ui/projects/{pid}/manage/settings", {"retrain_every": "1"}),
            (f"/ui/projects/{pid}/manage/members", {"username": "out", "role": "admin"}),
            (f"/ui/projects/{pid}/manage/retrain", {}),
            (f"/ui/projects/{pid}/manage/guidelines", {"guidelines": "x"}),
            (f"/ui/projects/{pid}/manage/service-tokens", {"name": "bot", "scopes": "ingest"}),
            (f"/ui/projects/{pid}/manage/service-tokens/1/revoke", {}),
            ("/ui/admin/users", {"username": "new", "password": "long enough"}),
            ("/ui/admin/projects/new", {"name": "n", "labels": "a"}),
        ):
            assert client.post(path, data={**data, "csrf_token": csrf}).status_code == 403, path

    def test_a_project_admin_manages_their_project_but_not_users(self, client, factory, world):
        lead = factory.user("lead")
        factory.member(world.project, lead, Role.ADMIN)
        ui_login(client, lead.username)
        assert client.get(f"/ui/projects/{world.project.id}/manage").status_code == 200
        assert client.get("/ui/admin/users").status_code == 403
        assert client.get("/ui/admin/projects/new").status_code == 403

    def test_anonymous_visitors_go_to_the_log_in_form(self, client, world):
        response = client.get(f"/ui/projects/{world.project.id}/manage", follow_redirects=False)
        assert response.headers["location"] == "/ui/login"


class TestSettings:
    def test_the_form_posts_every_setting(self):
        params = inspect.signature(admin.save_settings).parameters
        assert set(admin.SETTING_FIELDS) <= set(params)

    def test_saving_changes_the_settings(self, client, world, session_factory):
        csrf = ui_login(client, world.admin.username)
        pid = world.project.id
        page = client.get(f"/ui/projects/{pid}/manage").text
        for name in admin.SETTING_FIELDS:
            assert f'name="{name}"' in page
        response = client.post(
            f"/ui/projects/{pid}/manage/settings",
            data={"csrf_token": csrf, "strategy": "entropy", "retrain_every": "25"},
            follow_redirects=False,
        )
        assert response.status_code == 303
        assert client.get(response.headers["location"]).text.count("Settings saved.") == 1
        saved = _settings(session_factory, pid)
        assert (saved["strategy"], saved["retrain_every"]) == ("entropy", 25)

    def test_the_weak_label_weight_is_offered_where_labeling_functions_are(
        self, client, factory, world, session_factory
    ):
        csrf = ui_login(client, world.admin.username)
        pid = world.project.id
        page = client.get(f"/ui/projects/{pid}/manage").text
        assert "<code>weak_label_weight</code>" in page
        assert '<select name="weak_label_weight_by_cv">' in page
        assert '<select name="weak_labels_from">' in page
        response = client.post(
            f"/ui/projects/{pid}/manage/settings",
            data={
                "csrf_token": csrf,
                "weak_label_weight": "0.5",
                "weak_label_weight_by_cv": "true",
            },
            follow_redirects=False,
        )
        assert response.status_code == 303
        saved = _settings(session_factory, pid)
        assert (saved["weak_label_weight"], saved["weak_label_weight_by_cv"]) == (0.5, True)
        # Self-training with the rules is not judged by cross-validation: the page says why.
        clash = client.post(
            f"/ui/projects/{pid}/manage/settings",
            data={"csrf_token": csrf, "weak_labels_from": "model_and_rules"},
        )
        assert clash.status_code == 422 and "leave it false" in clash.text
        response = client.post(
            f"/ui/projects/{pid}/manage/settings",
            data={
                "csrf_token": csrf,
                "weak_label_weight_by_cv": "false",
                "weak_labels_from": "model_and_rules",
            },
            follow_redirects=False,
        )
        assert response.status_code == 303
        assert _settings(session_factory, pid)["weak_labels_from"] == "model_and_rules"
        tags = factory.project(world.admin, name="tags", task=TaskType.MULTI_LABEL)
        page = client.get(f"/ui/projects/{tags.id}/manage").text
        assert "weak_label_weight" not in page
        refused = client.post(
            f"/ui/projects/{tags.id}/manage/settings",
            data={"csrf_token": csrf, "weak_label_weight": "0.5"},
        )
        assert refused.status_code == 422 and "weak_label_weight" in refused.text

    def test_the_evaluation_set_is_said_to_be_like_the_pool_from_a_choice(
        self, client, world, session_factory
    ):
        csrf = ui_login(client, world.admin.username)
        pid = world.project.id
        page = client.get(f"/ui/projects/{pid}/manage").text
        assert '<select name="evaluation_like_pool">' in page
        response = client.post(
            f"/ui/projects/{pid}/manage/settings",
            data={"csrf_token": csrf, "evaluation_like_pool": "true"},
            follow_redirects=False,
        )
        assert response.status_code == 303
        assert _settings(session_factory, pid)["evaluation_like_pool"] is True
        page = client.get(f"/ui/projects/{pid}/manage").text
        assert "<option selected>true</option>" in page

    def test_a_bad_value_is_named_and_nothing_changes(self, client, world, session_factory):
        csrf = ui_login(client, world.admin.username)
        pid = world.project.id
        before = _settings(session_factory, pid)
        response = client.post(
            f"/ui/projects/{pid}/manage/settings",
            data={"csrf_token": csrf, "retrain_every": "0", "strategy": "entropy"},
        )
        assert response.status_code == 422
        assert "retrain_every" in response.text
        assert _settings(session_factory, pid) == before

    def test_without_the_csrf_token_nothing_changes(self, client, world, session_factory):
        ui_login(client, world.admin.username)
        pid = world.project.id
        before = _settings(session_factory, pid)
        response = client.post(f"/ui/projects/{pid}/manage/settings", data={"retrain_every": "3"})
        assert response.status_code == 403
        assert _settings(session_factory, pid) == before


class TestMembersGuidelinesRetrain:
    def test_add_a_member_then_change_the_role(self, client, world, session_factory):
        csrf = ui_login(client, world.admin.username)
        pid = world.project.id
        url = f"/ui/projects/{pid}/manage/members"
        client.post(url, data={"csrf_token": csrf, "username": "out", "role": "annotator"})
        client.post(url, data={"csrf_token": csrf, "username": "out", "role": "admin"})
        with session_factory() as session:
            members = {m.username: m.role for m in projects.list_members(session, project_id=pid)}
        assert members["out"] is Role.ADMIN
        assert "<td>out</td><td>admin</td>" in client.get(f"/ui/projects/{pid}/manage").text

    def test_unknown_user_is_reported(self, client, world):
        csrf = ui_login(client, world.admin.username)
        response = client.post(
            f"/ui/projects/{world.project.id}/manage/members",
            data={"csrf_token": csrf, "username": "nobody", "role": "annotator"},
        )
        assert response.status_code == 422
        assert "No user named &#39;nobody&#39;" in response.text

    def test_guidelines_are_saved_and_shown_as_text(self, client, world):
        csrf = ui_login(client, world.admin.username)
        pid = world.project.id
        client.post(
            f"/ui/projects/{pid}/manage/guidelines",
            data={"csrf_token": csrf, "guidelines": XSS_TEXT},
        )
        page = client.get(f"/ui/projects/{pid}").text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "<script>alert(1)" not in page

    def test_retrain_now_queues_a_job(self, client, world):
        csrf = ui_login(client, world.admin.username)
        pid = world.project.id
        response = client.post(f"/ui/projects/{pid}/manage/retrain", data={"csrf_token": csrf})
        assert "Retrain queued" in response.text
        jobs = client.get(f"/api/projects/{pid}/jobs").json()
        assert [(j["trigger"], j["status"]) for j in jobs] == [("manual", "queued")]


@pytest.fixture
def upload(client, session_factory, settings):
    """Post the import form, check it redirects to the job's page, run the worker, show it."""

    def post(csrf, pid, name, body, **fields):
        queued = client.post(
            f"/ui/projects/{pid}/manage/import",
            data={"csrf_token": csrf, **fields},
            files={"file": (name, body, "application/octet-stream")},
            follow_redirects=False,
        )
        if queued.status_code != 303:
            return queued
        page = client.get(queued.headers["location"])
        assert "Waiting to start." in page.text
        assert '<meta http-equiv="refresh" content="2">' in page.text
        RetrainWorker(session_factory, data_dir=settings.data_dir).run_pending()
        return client.get(queued.headers["location"])

    return post


class TestImport:
    def test_a_good_file_is_imported_and_reported(self, client, world, upload):
        csrf = ui_login(client, world.admin.username)
        pid = world.project.id
        body = b'{"text": "hello", "label": "greet"}\n{"text": "bye now"}\n{"text": "hello"}\n'
        response = upload(csrf, pid, "items.jsonl", body)
        assert response.status_code == 200
        assert "refresh" not in response.text
        report = " ".join(response.text.split('id="import-report">')[1].split("</p>")[0].split())
        assert "3 rows read: 2 items added" in report
        assert "1 duplicate not added again, 1 label stored" in report

    def test_a_bad_file_names_line_and_field_and_stores_nothing(self, client, world, upload):
        csrf = ui_login(client, world.admin.username)
        pid = world.project.id
        body = b'{"text": "fine"}\n{"text": "x", "label": "nope"}\n{"txt": "y"}\n'
        response = upload(csrf, pid, "bad.jsonl", body)
        assert "Failed: nothing was imported." in response.text
        assert "bad.jsonl, line 2, field label" in response.text
        assert "bad.jsonl, line 3" in response.text
        assert "/tmp" not in response.text and "imports/" not in response.text
        assert client.get(f"/api/projects/{pid}/items").json()["total"] == 0

    def test_an_evaluation_set_is_imported_as_held_out(self, client, world, upload):
        csrf = ui_login(client, world.admin.username)
        pid = world.project.id
        body = b'{"text": "hello", "label": "greet"}\n{"text": "ciao", "label": "bye"}\n'
        response = upload(csrf, pid, "eval.jsonl", body, evaluation="true")
        assert response.status_code == 200
        assert "their labels kept to score each model" in response.text
        items = client.get(f"/api/projects/{pid}/items").json()["items"]
        assert [i["is_evaluation"] for i in items] == [True, True]

    def test_skip_bad_rows_keeps_the_good_ones(self, client, world, upload):
        csrf = ui_login(client, world.admin.username)
        pid = world.project.id
        body = b'{"text": "fine"}\n{"txt": "y"}\n'
        response = upload(csrf, pid, "mixed.jsonl", body, skip_bad_rows="true")
        assert response.status_code == 200
        assert "1 bad row skipped" in " ".join(response.text.split())
        assert client.get(f"/api/projects/{pid}/items").json()["total"] == 1

    def test_a_publishing_import_shows_how_many_rows_are_in(self, client, world, session_factory):
        from labelwise.service.transactions import begin_write
        from labelwise.store import Job, JobStatus

        csrf = ui_login(client, world.admin.username)
        assert csrf
        pid = world.project.id
        progress = {"phase": "publishing", "file": "big.jsonl", "rows_read": 1_200}
        progress |= {"rows_staged": 1_200, "rows_published": 500, "bytes_total": 10}
        with session_factory() as session:
            begin_write(session)
            job = Job(project_id=pid, kind="import", trigger="upload", progress=progress)
            job.status = JobStatus.RUNNING
            session.add(job)
            session.commit()
            job_id = job.id
        page = " ".join(client.get(f"/ui/projects/{pid}/manage/imports/{job_id}").text.split())
        assert "Publishing: 500 of 1,200 rows in the project." in page
        assert "the new items appear batch by batch" in page


class TestUsersAndProjects:
    def test_site_admin_adds_a_user_who_can_log_in(self, client, world):
        csrf = ui_login(client, world.admin.username)
        response = client.post(
            "/ui/admin/users",
            data={"csrf_token": csrf, "username": "newbie", "password": "long enough pw"},
        )
        assert response.status_code == 200
        assert "User added." in response.text
        assert "<td>newbie</td><td>no</td>" in response.text
        client.cookies.clear()
        ui_login(client, "newbie", "long enough pw")

    @pytest.mark.parametrize(
        ("username", "password", "message"),
        [("root", "long enough pw", "already exists"), ("x", "short", "at least 8 characters")],
    )
    def test_bad_users_are_refused(self, client, world, username, password, message):
        csrf = ui_login(client, world.admin.username)
        response = client.post(
            "/ui/admin/users",
            data={"csrf_token": csrf, "username": username, "password": password},
        )
        assert response.status_code == 422
        assert message in response.text

    def test_create_a_project_from_one_label_per_line(self, client, world, session_factory):
        csrf = ui_login(client, world.admin.username)
        response = client.post(
            "/ui/admin/projects/new",
            data={
                "csrf_token": csrf,
                "name": "faq",
                "labels": "a\n b \n\nc\n",
                "task": "multi_label",
            },
            follow_redirects=False,
        )
        assert response.status_code == 303
        assert response.headers["location"].endswith("/manage?done=created")
        with session_factory() as session:
            project = projects.find_project(session, name="faq")
            assert (project.labels, project.task.value) == (["a", "b", "c"], "multi_label")

    def test_a_project_gets_the_audit_share_typed_or_the_default(
        self, client, world, session_factory
    ):
        csrf = ui_login(client, world.admin.username)
        assert 'placeholder="0.1"' in client.get("/ui/admin/projects/new").text
        for name, share, expected in (("typed", "0.25", 0.25), ("default", "", 0.1)):
            response = client.post(
                "/ui/admin/projects/new",
                data={"csrf_token": csrf, "name": name, "labels": "a\nb", "audit_share": share},
                follow_redirects=False,
            )
            assert response.status_code == 303, response.text
            with session_factory() as session:
                project = projects.find_project(session, name=name)
                assert project.settings["audit_fraction"] == expected
        for share, message in (("lots", "must be a number"), ("0.9", "audit_fraction")):
            response = client.post(
                "/ui/admin/projects/new",
                data={"csrf_token": csrf, "name": "bad", "labels": "a\nb", "audit_share": share},
            )
            assert response.status_code == 422
            assert message in response.text

    def test_a_one_label_project_is_refused(self, client, world):
        csrf = ui_login(client, world.admin.username)
        response = client.post(
            "/ui/admin/projects/new", data={"csrf_token": csrf, "name": "solo", "labels": "a"}
        )
        assert response.status_code == 422
        assert "at least two labels" in response.text

    def test_a_bad_project_keeps_what_was_typed(self, client, world):
        csrf = ui_login(client, world.admin.username)
        response = client.post(
            "/ui/admin/projects/new",
            data={"csrf_token": csrf, "name": "dup", "labels": "a\na"},
        )
        assert response.status_code == 422
        assert "distinct" in response.text
        assert 'value="dup"' in response.text


class TestServiceTokens:
    def test_create_shows_the_secret_once_then_revoke(self, client, world, session_factory):
        csrf = ui_login(client, world.admin.username)
        pid = world.project.id
        created = client.post(
            f"/ui/projects/{pid}/manage/service-tokens",
            data={"csrf_token": csrf, "name": XSS_TEXT, "scopes": ["ingest", "predict"]},
        )
        assert created.status_code == 201
        secret = created.text.split('<code class="secret">')[1].split("</code>")[0]
        assert secret.startswith("lws_")
        assert "<script>" not in created.text.split("</header>")[1]
        page = client.get(f"/ui/projects/{pid}/manage").text
        assert secret not in page and "ingest, predict" in page and "never" in page
        bot = client.post(
            f"/api/projects/{pid}/traffic",
            json={"messages": [{"text": "hello"}]},
            headers={"Authorization": f"Bearer {secret}"},
        )
        assert bot.status_code == 200
        with session_factory() as session:
            (token,) = service_tokens.list_service_tokens(session, project_id=pid)
        revoked = client.post(
            f"/ui/projects/{pid}/manage/service-tokens/{token.id}/revoke",
            data={"csrf_token": csrf},
        )
        assert revoked.status_code == 200 and "Service token revoked." in revoked.text
        again = client.post(
            f"/api/projects/{pid}/traffic",
            json={"messages": [{"text": "hello"}]},
            headers={"Authorization": f"Bearer {secret}"},
        )
        assert again.status_code == 401

    def test_a_token_without_scopes_is_refused_on_the_page(self, client, world):
        csrf = ui_login(client, world.admin.username)
        response = client.post(
            f"/ui/projects/{world.project.id}/manage/service-tokens",
            data={"csrf_token": csrf, "name": "bot"},
        )
        assert response.status_code == 422
        assert "at least one scope" in response.text
