"""Screenshots of the annotation page and the dashboard: ``python docs/screenshots.py``.

Starts a server on a scratch SQLite database with the demo project (600 CLINC150
utterances, 20 intents; the audit share raised to 25% so the learning curve has enough
audited labels to show) and CLINC150's test utterances of those intents, read from
``../shared/data``, as the held-out evaluation set; then runs a short simulated labeling session through the API:
two annotators label 240 items with the dataset's own intents, skipping and flagging a
few, while the worker retrains every 10 labels. It then photographs, in headless Debian
chromium, the annotation page at 1280x800 and 390x844 (``docs/img/annotation*.png``)
and the dashboard at 1280 wide (whole page) and 390x844 (``docs/img/dashboard*.png``).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.server.live import LiveServer, login  # noqa: E402

from labelwise.service import demo, users  # noqa: E402
from labelwise.store import make_engine, make_session_factory, upgrade_database  # noqa: E402

PASSWORD = "screenshots only"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def main() -> None:
    from playwright.sync_api import expect, sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/shots.db"
        engine = make_engine(url)
        upgrade_database(engine)
        with make_session_factory(engine)() as session:
            admin = users.create_user(session, username="ana", password=PASSWORD, is_admin=True)
            project_id = demo.create_demo_project(session, owner=admin).id
        engine.dispose()
        gold = demo.demo_gold()
        with LiveServer(url, Path(tmp)) as server:
            _label_run(server.url, project_id, gold)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
                for name, width, height in (
                    ("annotation", 1280, 800),
                    ("annotation-phone", 390, 844),
                ):
                    page = _logged_in(browser, server.url, width, height)
                    page.goto(f"{server.url}/ui/projects/{project_id}")
                    expect(page.locator(".choice .prob").first).to_be_visible(timeout=30000)
                    page.keyboard.press("1")  # one decision, so the recent list shows
                    expect(page.locator("#recent li").first).to_be_visible()
                    page.keyboard.press("/")
                    page.keyboard.type("tr")
                    page.keyboard.press("Escape")
                    page.wait_for_timeout(300)
                    _save(page, name)
                for name, width, height, whole in (
                    ("dashboard", 1280, 800, True),
                    ("dashboard-phone", 390, 844, False),
                ):
                    page = _logged_in(browser, server.url, width, height)
                    page.goto(f"{server.url}/ui/projects/{project_id}/dashboard")
                    expect(page.locator("svg.chart").first).to_be_visible()
                    _save(page, name, full_page=whole)
                browser.close()


def _logged_in(browser: Any, url: str, width: int, height: int) -> Any:
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.goto(url + "/ui/login")
    page.fill("input[name=username]", "ana")
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_url(url + "/ui/projects")
    return page


def _label_run(url: str, project_id: int, gold: list[str]) -> None:
    """Two annotators label 240 items correctly (a few skips and flags), then wait for
    the worker to publish the last model and its pool diagnostics."""
    admin = login(url, "ana", PASSWORD)
    base = f"/api/projects/{project_id}"
    admin.patch(base + "/settings", json={"audit_fraction": 0.25}).raise_for_status()
    admin.post(
        base + "/import",
        params={"evaluation": "true"},
        files={"file": ("clinc150-test.jsonl", _evaluation_rows(set(gold)))},
    ).raise_for_status()
    admin.post("/api/users", json={"username": "ben", "password": PASSWORD}).raise_for_status()
    admin.post(base + "/members", json={"username": "ben"}).raise_for_status()
    clients = [admin, login(url, "ben", PASSWORD)]
    for i in range(240):
        api = clients[i % 3 == 0]
        item = api.post(base + "/queue/next").json()
        if i % 41 == 40:
            api.post(base + "/annotations/skip", json={"item_id": item["item_id"]})
        elif i % 59 == 58:
            api.post(
                base + "/annotations/flag",
                json={"item_id": item["item_id"], "comment": "ambiguous: two intents"},
            )
        else:
            api.post(
                base + "/annotations",
                json={"item_id": item["item_id"], "value": gold[item["position"]]},
            ).raise_for_status()
        time.sleep(0.05)  # a fast human, not a benchmark: retrains keep up
    admin.post(base + "/jobs/retrain").raise_for_status()
    deadline = time.monotonic() + 300
    while True:
        board = admin.get(base + "/dashboard").json()
        busy = any(job["status"] in {"queued", "running"} for job in board["jobs"])
        latest = board["versions"][-1] if board["versions"] else None
        if not busy and latest is not None and latest["margin_histogram"]:
            # The annotation page's picture should show the model's suggestions, which
            # an item drawn for the audit sample never carries.
            admin.patch(base + "/settings", json={"audit_fraction": 0.0}).raise_for_status()
            return
        if time.monotonic() > deadline:
            raise SystemExit("the worker did not finish within 300 s")
        time.sleep(0.5)


def _evaluation_rows(intents: set[str]) -> bytes:
    """CLINC150's test utterances of the demo's intents: the held-out evaluation set."""
    test = ROOT.parent / "shared" / "data" / "clinc150" / "test.jsonl"
    with test.open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    keep = [r for r in rows if r["label"] in intents]
    return "".join(
        json.dumps({"text": r["text"], "label": r["label"]}) + "\n" for r in keep
    ).encode()


def _save(page: Any, name: str, *, full_page: bool = False) -> None:
    out = ROOT / "docs" / "img" / f"{name}.png"
    page.screenshot(path=str(out), full_page=full_page)
    print(f"wrote {out.relative_to(ROOT)}")  # noqa: T201


if __name__ == "__main__":
    main()
