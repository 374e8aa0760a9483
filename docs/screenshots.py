"""Screenshots of the annotation page: ``python docs/screenshots.py``.

Starts a server on a scratch SQLite database with the demo project, labels a dozen
items through the API with the dataset's own intents so the worker trains a first
model (suggestions appear), then photographs the page in headless Debian chromium at
1280x800 (``docs/img/annotation.png``) and 390x844 (``docs/img/annotation-phone.png``).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

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
            api = login(server.url, "ana", PASSWORD)
            base = f"/api/projects/{project_id}"
            for _ in range(12):
                item = api.post(base + "/queue/next").json()
                api.post(
                    base + "/annotations",
                    json={"item_id": item["item_id"], "value": gold[item["position"]]},
                )
            deadline = time.monotonic() + 120
            while api.get(base + "/metrics").json()["latest_model"] is None:
                if time.monotonic() > deadline:
                    raise SystemExit("no model was trained in 120 s")
                time.sleep(0.5)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
                for name, width, height in (
                    ("annotation", 1280, 800),
                    ("annotation-phone", 390, 844),
                ):
                    page = browser.new_context(
                        viewport={"width": width, "height": height}
                    ).new_page()
                    page.goto(server.url + "/ui/login")
                    page.fill("input[name=username]", "ana")
                    page.fill("input[name=password]", PASSWORD)
                    page.press("input[name=password]", "Enter")
                    page.wait_for_url(server.url + "/ui/projects")
                    page.goto(f"{server.url}/ui/projects/{project_id}")
                    expect(page.locator(".choice .prob").first).to_be_visible(timeout=30000)
                    page.keyboard.press("1")  # one decision, so the recent list shows
                    expect(page.locator("#recent li").first).to_be_visible()
                    page.keyboard.press("/")
                    page.keyboard.type("tr")
                    page.keyboard.press("Escape")
                    page.wait_for_timeout(300)
                    out = ROOT / "docs" / "img" / f"{name}.png"
                    page.screenshot(path=str(out))
                    print(f"wrote {out.relative_to(ROOT)}")  # noqa: T201
                browser.close()


if __name__ == "__main__":
    main()
