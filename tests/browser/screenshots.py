"""`make screenshots`: the README's pictures of the portal (docs/screenshots/), taken in headless Chromium
against a fresh local stack with the demo data, so they always show the portal as it is."""

from __future__ import annotations

import tempfile
from contextlib import ExitStack
from pathlib import Path

from playwright.sync_api import sync_playwright

from shared.devstack import infra as infrastructure
from shared.devstack import portal
from shared.devstack import stack as services
from tests.browser.portal import CHROMIUM, CHROMIUM_ARGS, log_in_on_screen
from tests.support import PDF, create, form, link, login, status_of, upload, wait_until

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def take(base_url: str) -> list[Path]:
    # Some data to look at: a few applications, one of them submitted.
    api = login(base_url)
    for reason in (
        "日本海关以原产地证书签发日期晚于出运日期为由拒绝给予RCEP协定税率。",
        "韩国海关要求补充直接运输证明。",
    ):
        body = form(reason=reason)
        link(api, body)
        saved = create(api, body)
        upload(api, saved["id"], PDF)
        api.post(f"/api/v1/coordination-requests/{saved['id']}/submit")
        wait_until(status_of(api, saved["id"]), lambda r: r["status"] == "PENDING")
    create(api, form())
    shots = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(f"{base_url}/login")
        page.get_by_role("button", name="验证码图片，点击刷新").wait_for()
        shots.append(OUT / "login.png")
        page.screenshot(path=shots[-1])

        log_in_on_screen(page)
        page.get_by_role("tab", name="业务应用").wait_for()
        page.get_by_role("button", name="享惠受阻协调").click()
        page.get_by_role("button", name="海关原产地证书 享惠受阻协调申请").click()
        page.get_by_role("button", name="暂存", exact=True).click()
        page.get_by_text("请选择进口国家/地区").first.wait_for()
        page.wait_for_timeout(400)  # let the error hints and the message finish their entrance animation
        shots.append(OUT / "application-form.png")
        page.screenshot(path=shots[-1])

        # The same form in 长辈版 (large text, high contrast), then back to the standard look for the rest. The 暂存
        # message has faded first (Element Plus messages share role=alert with the field hints, hence the class).
        page.locator(".el-message").wait_for(state="detached")
        senior = page.get_by_role("button", name="长辈版", exact=True)
        senior.click()
        page.wait_for_function("() => document.documentElement.classList.contains('senior-mode')")
        page.mouse.move(640, 700)  # off the header, which has grown under the pointer
        page.wait_for_timeout(400)  # the menu's width transition
        shots.append(OUT / "application-form-senior.png")
        page.screenshot(path=shots[-1])
        senior.click()
        page.wait_for_function("() => !document.documentElement.classList.contains('senior-mode')")

        page.get_by_role("menuitem", name="享惠受阻协调查询").click()
        page.get_by_text("共 ").wait_for()
        page.get_by_role("cell", name="待办").first.wait_for()
        shots.append(OUT / "query.png")
        page.screenshot(path=shots[-1])

        # The same in English (the switch is kept in the browser), then 登录 as an English reader meets it.
        page.get_by_role("banner").get_by_role("button", name="English", exact=True).click()
        page.get_by_role("cell", name="Pending").first.wait_for()
        shots.append(OUT / "query-en.png")
        page.screenshot(path=shots[-1])
        page.goto(f"{base_url}/login")
        page.get_by_role("button", name="Log in", exact=True).wait_for()
        shots.append(OUT / "login-en.png")
        page.screenshot(path=shots[-1])
        browser.close()
    return shots


def main() -> None:
    portal.ensure_built()
    OUT.mkdir(parents=True, exist_ok=True)
    with ExitStack() as exits:
        work = Path(tempfile.mkdtemp(prefix="xianghui-shots-"))
        infra = infrastructure.from_environment() or infrastructure.start_embedded(exits, work / "data", work / "logs")
        infrastructure.create_databases(infra)
        running = services.start(exits, infra, work / "logs", profile="test")
        exits.callback(services.stop_signal_children, running)
        for path in take(running.gateway_url):
            print(f"wrote {path.relative_to(OUT.parents[1])}")


if __name__ == "__main__":
    main()
