"""The console in Debian's headless Chromium against a real ``shuwei serve`` (one per module):
sign in per role, filter and bulk-acknowledge alerts, note an alert, override a column's grade,
decide an approval, try-it masking, export and verify an evidence pack. Screenshots go to the test's tmp dir; the browser console
must stay free of errors (a CSP violation or a failing htmx request shows up there)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import HEADLESS_FLAGS, Chromium
from tests.console.conftest import Console, start_console

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

NAV = {"soc_analyst": {"告警 Alerts", "数据集 Datasets"}, "data_owner": {"数据集 Datasets", "授权 Approvals"},
       "exchange_platform": {"授权 Approvals", "脱敏 Masking"},
       "compliance_officer": {"告警 Alerts", "数据集 Datasets", "授权 Approvals", "证据 Evidence"},
       "admin": {"告警 Alerts", "数据集 Datasets", "授权 Approvals", "脱敏 Masking", "证据 Evidence", "密钥 Keys"}}
ALL_PAGES = {"告警 Alerts", "数据集 Datasets", "授权 Approvals", "脱敏 Masking", "证据 Evidence", "密钥 Keys"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    live = start_console(tmp_path_factory.mktemp("console-browser"))
    yield live
    live.server.stop()


@pytest.fixture(scope="module")
def driver(chromium: Chromium, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager never downloads anything
    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium.browser)
    for flag in HEADLESS_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.add_argument("--window-size=1400,1000")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    downloads = tmp_path_factory.mktemp("downloads")
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    drv = webdriver.Chrome(service=Service(str(chromium.driver)), options=options)
    drv.implicitly_wait(5)
    drv.downloads = downloads  # where the evidence export lands
    yield drv
    drv.quit()


def _gone(old: Any) -> bool:
    """``EC.staleness_of``, plus Chromium's other answer for a node of a page just replaced (an
    inspector error "does not belong to the document" instead of a stale-element error)."""
    try:
        old.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as exc:
        if "does not belong to the document" in (exc.msg or ""):
            return True
        raise
    return False


class Browser:
    def __init__(self, driver: Any, site: Console, shots: Path) -> None:
        self.d, self.site, self.shots = driver, site, shots

    def go(self, path: str) -> None:
        self.d.get(self.site.url + path)
        self.ready()

    def ready(self) -> None:
        """Wait until the new document has loaded: an element found while the old one was still
        being replaced belongs to neither (chromedriver: "Node … does not belong to the document")."""
        WebDriverWait(self.d, 20).until(lambda d: d.execute_script("return document.readyState") == "complete")

    def shot(self, name: str) -> None:
        self.d.save_screenshot(str(self.shots / f"{name}.png"))

    def sign_in(self, who: str) -> None:
        self.d.delete_all_cookies()
        self.go("/console/signin")
        self.d.find_element(By.ID, "api_key").send_keys(self.site.keys[who])
        self.submit(self.d.find_element(By.CSS_SELECTOR, "form.card button[type=submit]"))
        assert self.d.find_element(By.TAG_NAME, "h1").text == "概览 Overview", self.d.page_source[:500]

    def submit(self, element: Any) -> None:
        """Click something that loads a page, and wait until the old page is gone."""
        old = self.d.find_element(By.TAG_NAME, "html")
        element.click()
        WebDriverWait(self.d, 20).until(lambda _: _gone(old))
        self.ready()

    def nav(self) -> set[str]:
        return {a.text for a in self.d.find_elements(By.CSS_SELECTOR, "header nav a")}

    def errors(self) -> list[dict[str, Any]]:
        return [e for e in self.d.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


@pytest.fixture()
def browser(driver: Any, site: Console, tmp_path: Path) -> Iterator[Browser]:
    b = Browser(driver, site, tmp_path)
    driver.get_log("browser")  # start each test with an empty console
    yield b
    b.shot("last")
    assert b.errors() == [], b.errors()


def test_sign_in_per_role_shows_that_roles_pages(browser: Browser) -> None:
    for who, pages in NAV.items():
        browser.sign_in(who)
        assert browser.nav() & ALL_PAGES == pages, who
        browser.shot(f"overview-{who}")
        browser.submit(browser.d.find_element(By.CSS_SELECTOR, "form.signout button"))
        assert browser.d.find_element(By.TAG_NAME, "h1").text == "登录 Sign in"


def test_filter_bulk_acknowledge_and_note_an_alert(browser: Browser) -> None:
    d = browser.d
    browser.sign_in("soc_analyst")
    # the overview's chain check is an htmx request (CSRF header, CSP-clean swap)
    d.find_element(By.CSS_SELECTOR, "#chain button").click()
    WebDriverWait(d, 30).until(EC.text_to_be_present_in_element((By.ID, "chain"), "Intact"))
    assert d.find_elements(By.CSS_SELECTOR, "figure.chart svg rect")
    browser.shot("overview-analyst")
    browser.go("/console/alerts")
    Select(d.find_element(By.NAME, "status")).select_by_visible_text("new")
    browser.submit(d.find_element(By.ID, "apply-filter"))
    assert "status=new" in d.current_url
    boxes = d.find_elements(By.CSS_SELECTOR, "input[name=ids]")
    assert len(boxes) >= 2
    chosen = [boxes[0].get_attribute("value"), boxes[1].get_attribute("value")]
    boxes[0].click()
    boxes[1].click()
    Select(d.find_element(By.ID, "bulk-op")).select_by_value("acknowledge")
    browser.shot("alerts-selected")
    browser.submit(d.find_element(By.ID, "bulk-apply"))
    # a playbook may have taken one of them (in_progress) meanwhile: that one is refused, and counted
    message = d.find_element(By.CSS_SELECTOR, ".message.ok").text
    changed = int(message.split("已更新 Changed: ")[1].split(";")[0].split()[0])
    refused = int(message.split("refused: ")[1].split()[0]) if "refused: " in message else 0
    assert changed >= 1 and changed + refused == 2, message
    with browser.site.api("soc_analyst") as api:
        assert all(api.get(f"/v1/alerts/{i}").json()["status"] != "new" for i in chosen)
    browser.shot("alerts-acknowledged")
    # a false positive without its reason is refused, in words
    browser.go("/console/alerts?status=new")
    d.find_elements(By.CSS_SELECTOR, "input[name=ids]")[0].click()
    Select(d.find_element(By.ID, "bulk-op")).select_by_value("false_positive")
    browser.submit(d.find_element(By.ID, "bulk-apply"))
    assert "A false positive needs a reason" in d.page_source
    # the refusal is a 400 page, which the browser logs: that entry, and only it, is expected
    assert [e["message"].split(" - ")[0].rsplit("/", 1)[1] for e in browser.errors()] == ["bulk"]
    # open an alert and add a note
    browser.go("/console/alerts?status=acknowledged")
    browser.submit(d.find_element(By.CSS_SELECTOR, "table.alerts tbody a"))
    d.find_element(By.ID, "alert-note").send_keys("已电话核实 called the owner")
    browser.submit(d.find_element(By.ID, "alert-apply"))
    notes = d.find_element(By.CSS_SELECTOR, "ol.notes").text
    assert "已电话核实 called the owner" in notes and "soc_analyst-key" in notes
    browser.shot("alert-noted")


def test_override_a_columns_grade(browser: Browser) -> None:
    d = browser.d
    browser.sign_in("owner_pop")
    browser.go("/console/datasets")
    assert [a.text for a in d.find_elements(By.CSS_SELECTOR, "table.catalog tbody a")] == ["pop_basic"]
    browser.submit(d.find_element(By.LINK_TEXT, "pop_basic"))
    Select(d.find_element(By.ID, "review-column")).select_by_value("地址")
    d.find_element(By.ID, "review-override").click()
    Select(d.find_element(By.ID, "review-grade")).select_by_value("L4")
    d.find_element(By.ID, "review-comment").send_keys("户籍地址按敏感处理")
    browser.submit(d.find_element(By.ID, "review-submit"))
    assert "已复核 Reviewed: 地址" in d.find_element(By.CSS_SELECTOR, ".message.ok").text
    row = next(r for r in d.find_elements(By.CSS_SELECTOR, "table.columns tbody tr")
               if r.find_element(By.CSS_SELECTOR, "td.colname").text == "地址")
    assert "L4" in row.text and "户籍地址按敏感处理" in row.text
    browser.shot("dataset-overridden")


def test_decide_an_approval(browser: Browser) -> None:
    d = browser.d
    browser.sign_in("owner_pop")
    browser.go("/console/approvals")
    button = d.find_element(By.CSS_SELECTOR, "button[id^=approve-AP-]")
    approval_id = button.get_attribute("id").removeprefix("approve-")
    d.find_element(By.ID, f"comment-approve-{approval_id}").send_keys("同意 研究用途")
    browser.submit(button)
    assert f"已处理 Decided: {approval_id}" in d.find_element(By.CSS_SELECTOR, ".message.ok").text
    in_force = d.find_elements(By.CSS_SELECTOR, "table.approvals")[2].text
    assert approval_id in in_force and "approved" in in_force
    browser.shot("approval-decided")


def test_try_it_masking(browser: Browser) -> None:
    d = browser.d
    browser.sign_in("exchange_platform")
    browser.go("/console/masking")
    d.find_element(By.ID, "try-dataset").send_keys("pop_basic")
    d.find_element(By.ID, "try-user").send_keys("u1024")
    d.find_element(By.ID, "try-role").send_keys("analyst")
    browser.submit(d.find_element(By.ID, "try-submit"))
    result = d.find_element(By.ID, "try-result").text
    assert "rel-" in result and "联系电话" in result
    assert "13812345678" not in result and "11010519491231002X" not in result
    browser.shot("masking-tried")


def test_export_and_verify_an_evidence_pack(browser: Browser) -> None:
    d = browser.d
    browser.sign_in("compliance_officer")
    browser.go("/console/evidence")
    browser.submit(d.find_element(By.ID, "run-check"))
    assert d.find_elements(By.CSS_SELECTOR, "table.evidence-check tbody tr")
    d.find_element(By.ID, "export-pack").click()  # a download: the page stays
    downloads: Path = d.downloads
    WebDriverWait(d, 120).until(lambda _: [p for p in downloads.glob("*.zip")])
    pack = next(downloads.glob("*.zip"))
    WebDriverWait(d, 30).until(lambda _: not list(downloads.glob("*.crdownload")))
    browser.go("/console/evidence")
    d.find_element(By.CSS_SELECTOR, "input[name=pack]").send_keys(str(pack))
    browser.submit(d.find_element(By.ID, "verify-pack"))
    assert "通过 OK" in d.find_element(By.CSS_SELECTOR, ".message.ok").text
    assert d.find_elements(By.CSS_SELECTOR, "table.evidence-packs tbody tr code")  # the export is listed
    browser.shot("evidence-verified")
