"""The labeling functions page and the dashboard's weak supervision panel: who may open them,
the create/preview form, the table's actions, suggestions, CSRF."""

from __future__ import annotations

import pytest

from labelwise.service import labeling_functions
from labelwise.store import TaskType
from tests.server.ui.helpers import XSS_TEXT, ui_login
from tests.service.word_embedder import fake_minilm


@pytest.fixture(autouse=True)
def _no_minilm(client):
    client.app.state.sentence_vectors = fake_minilm()


@pytest.fixture
def labeled(factory, world):
    factory.items(
        world.project,
        [
            {"text": "hello there", "label": "greet"},
            {"text": "hello again", "label": "greet"},
            {"text": "hello friend", "label": "greet"},
            {"text": "bye now", "label": "bye"},
            {"text": XSS_TEXT},
        ],
    )
    return f"/ui/projects/{world.project.id}/labeling-functions"


def _form(name="kw_hello", kind="keyword", **extra):
    return {"name": name, "kind": kind, "label": "greet", "keywords": "hello", **extra}


def test_annotators_get_403(client, world, labeled):
    csrf = ui_login(client, world.annotator.username)
    assert client.get(labeled).status_code == 403
    response = client.post(labeled, data={**_form(), "csrf_token": csrf})
    assert response.status_code == 403


def test_a_preview_shows_hits_and_saves_nothing(client, world, labeled, session_factory):
    csrf = ui_login(client, world.admin.username)
    response = client.post(labeled, data={**_form(), "action": "preview", "csrf_token": csrf})
    assert response.status_code == 200
    html = response.text
    assert 'id="lf-preview"' in html and "hello friend" in html
    assert '<dd class="hits">3</dd>' in html
    assert 'value="kw_hello"' in html  # the form keeps what was typed
    with session_factory() as session:
        report = labeling_functions.list_labeling_functions(session, project_id=world.project.id)
    assert report.functions == []


def test_saving_lists_the_function_with_its_numbers(client, world, labeled):
    csrf = ui_login(client, world.admin.username)
    response = client.post(
        labeled, data={**_form(), "action": "create", "csrf_token": csrf}, follow_redirects=False
    )
    assert response.status_code == 303
    html = client.get(response.headers["location"]).text
    assert "Labeling function saved" in html
    assert 'data-name="kw_hello"' in html and "100%" in html and "3/3" in html
    assert XSS_TEXT not in html
    assert f'href="{labeled}"' in html  # the project nav links the page


def test_a_refused_function_shows_the_reason(client, world, labeled):
    csrf = ui_login(client, world.admin.username)
    response = client.post(
        labeled,
        data={**_form(kind="regex", pattern="(a|aa)+$"), "action": "create", "csrf_token": csrf},
    )
    assert response.status_code == 422
    assert "took longer" in response.text


def test_disable_edit_delete(client, world, labeled, session_factory):
    csrf = ui_login(client, world.admin.username)
    client.post(labeled, data={**_form(), "action": "create", "csrf_token": csrf})
    with session_factory() as session:
        [made] = labeling_functions.list_labeling_functions(
            session, project_id=world.project.id
        ).functions
    url = f"{labeled}/{made.id}"
    assert "Disabled" in client.post(url, data={"action": "disable", "csrf_token": csrf}).text
    edited = client.post(
        url, data={"action": "edit", "label": "bye", "keywords": "bye", "csrf_token": csrf}
    )
    assert "new version" in edited.text and "v2" in edited.text
    assert "Deleted." in client.post(url, data={"action": "delete", "csrf_token": csrf}).text
    missing = client.post(url, data={"action": "delete", "csrf_token": csrf})
    assert missing.status_code == 404


def test_a_suggestion_is_accepted_from_its_form(client, world, labeled):
    csrf = ui_login(client, world.admin.username)
    html = client.get(labeled).text
    assert 'data-key="kw_greet_hello"' in html
    response = client.post(
        f"/ui/projects/{world.project.id}/labeling-functions-suggestions",
        data={"key": "kw_greet_hello", "decision": "accept", "csrf_token": csrf},
    )
    assert "Suggestion accepted" in response.text
    assert 'data-name="kw_greet_hello"' in response.text and "suggested" in response.text


def test_without_the_csrf_token_nothing_is_saved(client, world, labeled, session_factory):
    ui_login(client, world.admin.username)
    assert client.post(labeled, data=_form()).status_code == 403
    with session_factory() as session:
        report = labeling_functions.list_labeling_functions(session, project_id=world.project.id)
    assert report.functions == []


def test_the_dashboard_shows_weak_against_gold_coverage(client, world, labeled):
    csrf = ui_login(client, world.admin.username)
    html = client.get(f"/ui/projects/{world.project.id}/dashboard").text
    assert 'id="weak"' in html and "Write labeling functions" in html
    client.post(labeled, data={**_form(), "action": "create", "csrf_token": csrf})
    html = " ".join(client.get(f"/ui/projects/{world.project.id}/dashboard").text.split())
    assert '<dd class="weak-human">4</dd>' in html and '<dd class="weak-rule">3</dd>' in html
    assert 'id="weak-functions"' in html and "kw_hello" in html


def test_a_multi_label_project_says_it_takes_no_functions(client, world, factory):
    project = factory.project(world.admin, name="multi", task=TaskType.MULTI_LABEL)
    csrf = ui_login(client, world.admin.username)
    url = f"/ui/projects/{project.id}/labeling-functions"
    page = client.get(url)
    assert page.status_code == 200 and "single-label" in page.text
    refused = client.post(url, data={**_form(), "action": "create", "csrf_token": csrf})
    assert refused.status_code == 422 and "single-label" in refused.text
    nav = client.get(f"/ui/projects/{project.id}/dashboard").text
    assert f'href="{url}"' not in nav and 'id="weak"' not in nav


def test_a_zero_shot_function_from_the_form_votes_over_every_label(client, world, labeled):
    csrf = ui_login(client, world.admin.username)
    form = {"name": "zero_shot", "kind": "zero_shot", "threshold": "0.5"}
    response = client.post(labeled, data={**form, "action": "create", "csrf_token": csrf})
    assert response.status_code == 200, response.text  # after the redirect
    html = " ".join(response.text.split())
    assert 'data-name="zero_shot"' in html and "<td><em>all labels</em></td>" in html
    assert "the label whose name is nearest, over 2 labels (cosine ≥ 0.5)" in html
    assert 'data-key="zero_shot"' not in html  # the suggestion is not offered beside it


def test_a_project_without_sentence_features_says_why(client, world, factory):
    project = factory.project(world.admin, name="plain", settings={"features": "tfidf"})
    ui_login(client, world.admin.username)
    html = client.get(f"/ui/projects/{project.id}/labeling-functions").text
    assert 'id="similarity-refused"' in html and "&#39;tfidf&#39;" in html
    assert '<option value="zero_shot" disabled>' in html


def test_an_exemplar_function_is_edited_from_its_form(client, world, labeled, session_factory):
    csrf = ui_login(client, world.admin.username)
    form = _form("ex_hello", "exemplar", exemplars="hello there\nhello friend", threshold="0.9")
    made = client.post(labeled, data={**form, "action": "create", "csrf_token": csrf})
    assert made.status_code == 200, made.text  # after the redirect
    with session_factory() as session:
        [made] = labeling_functions.list_labeling_functions(
            session, project_id=world.project.id, sentences=fake_minilm()
        ).functions
    assert made.spec["exemplars"] == ["hello there", "hello friend"] and made.stats.votes == 2
    # The edit form sends the kind's fields as shown, exemplars one per line.
    edit = {"action": "edit", "label": "greet", "exemplars": "hello there\nhello friend"}
    edited = client.post(
        f"{labeled}/{made.id}", data={**edit, "threshold": "0.4", "csrf_token": csrf}
    )
    row = " ".join(edited.text.split())
    assert "Saved as a new version" in row and "v2" in row
    assert "<q>hello friend</q> (cosine ≥ 0.4)" in row
    bad = client.post(
        f"{labeled}/{made.id}",
        data={**edit, "threshold": "near", "csrf_token": csrf},
    )
    assert bad.status_code == 422 and "threshold" in bad.text
