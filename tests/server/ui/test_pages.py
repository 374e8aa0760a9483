"""The UI's pages over HTTP: log-in, sessions and CSRF, escaping, and who may open what."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urljoin

from labelwise.server.security import CSRF_HEADER, SESSION_COOKIE
from labelwise.server.ui import routes
from labelwise.server.ui.pages import templates
from labelwise.store import TaskType
from tests.server.conftest import assert_error
from tests.server.ui.helpers import XSS_TEXT, form_token, page_csrf, ui_login


class TestLogin:
    def test_sets_an_httponly_samesite_session_cookie(self, client, world):
        token = form_token(client.get("/ui/login").text)
        response = client.post(
            "/ui/login",
            data={"username": "ann", "password": "correct horse battery", "csrf_token": token},
            follow_redirects=False,
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/ui/projects"
        cookie = next(
            c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE + "=")
        )
        attributes = {part.strip().lower() for part in cookie.split(";")}
        assert "httponly" in attributes
        assert "samesite=lax" in attributes
        assert "path=/" in attributes
        assert world.project.name in client.get("/ui/projects").text

    def test_wrong_password_shows_the_form_again(self, client, world):
        token = form_token(client.get("/ui/login").text)
        response = client.post(
            "/ui/login",
            data={"username": world.annotator.username, "password": "nope", "csrf_token": token},
        )
        assert response.status_code == 401
        assert "Unknown user or wrong password." in response.text
        assert SESSION_COOKIE not in client.cookies

    def test_login_without_csrf_token_is_403(self, client, world):
        client.get("/ui/login")
        response = client.post(
            "/ui/login",
            data={"username": world.annotator.username, "password": "correct horse battery"},
        )
        assert response.status_code == 403
        assert SESSION_COOKIE not in client.cookies

    def test_login_with_a_token_not_matching_the_cookie_is_403(self, client, world):
        client.get("/ui/login")
        response = client.post(
            "/ui/login",
            data={
                "username": world.annotator.username,
                "password": "correct horse battery",
                "csrf_token": "forged",
            },
        )
        assert response.status_code == 403

    def test_pages_need_a_session(self, client, world):
        for path in ("/ui", "/ui/projects", f"/ui/projects/{world.project.id}"):
            response = client.get(path, follow_redirects=False)
            assert response.status_code == 303
            assert response.headers["location"] in {"/ui/login", "/ui/projects"}
        client.cookies.set(SESSION_COOKIE, "lw_made_up")
        response = client.get("/ui/projects", follow_redirects=False)
        assert response.headers["location"] == "/ui/login"

    def test_logout_needs_the_csrf_token_and_revokes_the_session(self, client, world):
        csrf = ui_login(client, world.annotator.username)
        assert client.post("/ui/logout", data={}).status_code == 403
        assert client.get("/ui/projects", follow_redirects=False).status_code == 200
        session_token = client.cookies.get(SESSION_COOKIE)
        response = client.post("/ui/logout", data={"csrf_token": csrf}, follow_redirects=False)
        assert response.status_code == 303
        # The token is revoked, not just forgotten by this browser.
        client.cookies.set(SESSION_COOKIE, session_token)
        assert client.get("/ui/projects", follow_redirects=False).status_code == 303
        assert client.get(f"/api/projects/{world.project.id}").status_code == 401


class TestCsrfOnTheApi:
    def test_cookie_posts_without_the_csrf_token_are_403(self, client, factory, world):
        factory.items(world.project, [{"text": "hello"}])
        csrf = ui_login(client, world.annotator.username)
        base = f"/api/projects/{world.project.id}"
        assert_error(client.post(base + "/queue/next"), 403, "permission_denied")
        assert_error(
            client.post(base + "/queue/next", headers={CSRF_HEADER: "0" * 64}),
            403,
            "permission_denied",
        )
        item = client.post(base + "/queue/next", headers={CSRF_HEADER: csrf}).json()
        body = {"item_id": item["item_id"], "value": "greet"}
        assert_error(client.post(base + "/annotations", json=body), 403, "permission_denied")
        stored = client.post(base + "/annotations", json=body, headers={CSRF_HEADER: csrf})
        assert stored.status_code == 201
        # Reads need no token; bearer requests never do.
        assert client.get(base + "/annotations/recent").status_code == 200
        assert client.get(base).status_code == 200

    def test_the_csrf_token_belongs_to_one_session(self, client, world, settings):
        from fastapi.testclient import TestClient

        from labelwise.server.app import create_app

        mine = ui_login(client, world.annotator.username)
        with TestClient(create_app(settings)) as other:
            ui_login(other, world.admin.username)
            response = other.post(
                f"/api/projects/{world.project.id}/queue/next", headers={CSRF_HEADER: mine}
            )
            assert_error(response, 403, "permission_denied")


class TestEscaping:
    def test_item_label_and_guidelines_text_render_as_text(self, client, factory, world):
        project = factory.project(
            world.admin,
            name="<b>evil</b> project",
            labels=("greet", "<img src=x onerror=alert(1)>"),
            guidelines=XSS_TEXT,
        )
        factory.member(project, world.annotator)
        factory.items(project, [{"text": XSS_TEXT}])
        csrf = ui_login(client, world.annotator.username)
        served = client.post(
            f"/api/projects/{project.id}/queue/next", headers={CSRF_HEADER: csrf}
        ).json()
        assert served["text"] == XSS_TEXT  # JSON, drawn by the page's script with textContent

        for path in ("/ui/projects", f"/ui/projects/{project.id}"):
            response = client.get(path)
            html = response.text
            assert response.status_code == 200
            assert "<script>alert(1)</script>" not in html
            assert "<img src=x" not in html
            assert "<b>evil</b>" not in html
            assert "&lt;b&gt;evil&lt;/b&gt; project" in html
            csp = response.headers["content-security-policy"]
            assert "script-src 'self'" in csp
        page = client.get(f"/ui/projects/{project.id}").text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the guidelines
        assert 'data-label="&lt;img src=x onerror=alert(1)&gt;"' in page
        # The boot data is JSON inside a script element: no "<" can close it early.
        boot = page.split('<script id="boot" type="application/json">')[1].split("</script>")[0]
        assert "<" not in boot
        assert "\\u003cimg src=x onerror=alert(1)\\u003e" in boot


class TestWhoMayOpenWhat:
    def test_annotator_gets_403_on_another_projects_page(self, client, factory, world):
        other = factory.project(world.admin, name="secret-project", guidelines="top secret")
        ui_login(client, world.annotator.username)
        assert client.get(f"/ui/projects/{world.project.id}").status_code == 200
        refused = client.get(f"/ui/projects/{other.id}")
        assert refused.status_code == 403
        assert "secret-project" not in refused.text
        assert "top secret" not in refused.text
        # A project that does not exist answers the same: nothing leaks.
        missing = client.get("/ui/projects/999999")
        assert (missing.status_code, missing.text) == (403, refused.text)
        assert "secret-project" not in client.get("/ui/projects").text

    def test_annotator_is_refused_admin_actions_with_the_cookie(self, client, world):
        csrf = ui_login(client, world.annotator.username)
        response = client.post(
            f"/api/projects/{world.project.id}/members",
            json={"username": world.outsider.username},
            headers={CSRF_HEADER: csrf},
        )
        assert_error(response, 403, "permission_denied")
        assert_error(
            client.post(
                "/api/users",
                json={"username": "x", "password": "long enough"},
                headers={CSRF_HEADER: csrf},
            ),
            403,
            "permission_denied",
        )

    def test_site_admin_sees_every_project(self, client, factory, world):
        other = factory.project(world.admin, name="second")
        csrf = ui_login(client, world.admin.username)
        assert client.get(f"/ui/projects/{other.id}").status_code == 200
        assert page_csrf(client.get(f"/ui/projects/{other.id}").text) == csrf


class TestTaskViews:
    def test_multi_label_page_has_the_submit_button(self, client, factory, world):
        project = factory.project(
            world.admin, name="multi", labels=("a", "b"), task=TaskType.MULTI_LABEL
        )
        ui_login(client, world.admin.username)
        page = client.get(f"/ui/projects/{project.id}").text
        assert 'id="submit-multi"' in page
        assert '"task": "multi_label"' in page

    def test_a_task_without_a_view_says_so(self, client, factory, world, monkeypatch):
        project = factory.project(world.admin, name="spans", labels=("PER",), task=TaskType.SPANS)
        monkeypatch.setattr(routes, "task_view", lambda _task: None)
        ui_login(client, world.admin.username)
        page = client.get(f"/ui/projects/{project.id}").text
        assert "cannot label spans projects yet" in page
        assert "main.js" not in page

    def test_classification_pages_load_the_script_as_a_module(self, client, world):
        ui_login(client, world.annotator.username)
        page = client.get(f"/ui/projects/{world.project.id}").text
        assert '<script type="module" src="/ui/static/js/main.js"></script>' in page
        assert 'id="choices"' in page and 'id="types"' not in page
        assert page.count('class="muted keys"') == 1

    def test_a_spans_project_gets_the_span_view(self, client, factory, world):
        project = factory.project(
            world.admin, name="ner", labels=("PER", "<b>LOC</b>"), task=TaskType.SPANS
        )
        ui_login(client, world.admin.username)
        response = client.get(f"/ui/projects/{project.id}")
        page = response.text
        assert response.status_code == 200
        for part in ('id="item-text"', 'id="types"', 'id="accept-all"', 'id="submit-spans"'):
            assert part in page
        assert '<script type="module" src="/ui/static/js/main.js"></script>' in page
        # No intent to pick in a spans project; its types are drawn from the boot data.
        assert 'id="choices"' not in page and 'id="labels"' not in page
        assert '"task": "spans"' in page
        assert "<b>LOC</b>" not in page
        assert "filter intents" not in page
        assert page.count('class="muted keys"') == 1
        assert "script-src 'self';" in response.headers["content-security-policy"]

    def test_the_span_view_of_intents_entities_has_the_intent_picker(self):
        # The store has no intents_entities task yet: the template is rendered directly.
        project = SimpleNamespace(
            id=7,
            name="snips",
            task=SimpleNamespace(value="intents_entities"),
            labels=["PlayMusic", "<i>GetWeather</i>"],
            guidelines="",
        )
        boot = {"project_id": 7, "task": "intents_entities", "labels": project.labels}
        page = templates.get_template("annotate.html").render(
            project=project, is_admin=False, task_view="tasks/spans.html", boot=boot
        )
        for part in ('id="types"', 'id="choices"', 'id="filter"', "filter intents"):
            assert part in page
        assert 'data-label="&lt;i&gt;GetWeather&lt;/i&gt;"' in page
        assert "<i>GetWeather</i>" not in page


STATIC = Path(routes.__file__).parent / "static"
_IMPORT = re.compile(r'^import .* from "(\.{1,2}/[^"]+)";$', re.MULTILINE)


class TestScripts:
    def test_every_module_main_imports_is_served_as_javascript(self, client):
        seen: set[str] = set()
        todo = ["/ui/static/js/main.js"]
        while todo:
            url = todo.pop()
            if url in seen:
                continue
            seen.add(url)
            response = client.get(url)
            assert response.status_code == 200, url
            # Browsers refuse a module served under any other type.
            assert "javascript" in response.headers["content-type"], url
            todo += [urljoin(url, path) for path in _IMPORT.findall(response.text)]
        assert {"/ui/static/js/views/classification.js", "/ui/static/js/views/spans.js"} <= seen
        # Every module in the folder is part of the page.
        on_disk = {"/ui/static/" + p.relative_to(STATIC).as_posix() for p in STATIC.rglob("*.js")}
        assert seen == on_disk

    def test_text_reaches_the_dom_only_as_text(self):
        markup = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(")
        for path in STATIC.rglob("*.js"):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                code = line.split("//")[0]  # the rule itself is written in comments
                assert markup.search(code) is None, f"{path.name}, line {number}: {line}"


class TestLoginThrottling:
    def _post(self, client, username, password):
        token = form_token(client.get("/ui/login").text)
        return client.post(
            "/ui/login",
            data={"username": username, "password": password, "csrf_token": token},
            follow_redirects=False,
        )

    def test_too_many_failures_show_the_form_with_when_to_retry(self, client, world):
        for _ in range(5):
            assert self._post(client, world.annotator.username, "nope").status_code == 401
        response = self._post(client, world.annotator.username, "correct horse battery")
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "900"
        assert "Too many failed log-in attempts. Try again in 15 minutes." in response.text
        assert form_token(response.text)  # the form is there to try again later
        assert SESSION_COOKIE not in client.cookies
        # The JSON API shares the count: the same username is locked there too.
        api = client.post(
            "/api/auth/token",
            json={"username": world.annotator.username, "password": "correct horse battery"},
        )
        assert_error(api, 429, "rate_limited")
