"""The dashboard in headless Chromium: the page loads with a key, follows
the API live (no reloads), drives top-ups through the API, and shows
webhook deliveries. Screenshots go to target/browser-screenshots/.

tests/run.sh runs this suite only when chromium and chromedriver are
installed (CHROMIUM and CHROMEDRIVER name them); elsewhere it reports it
SKIPPED.
"""

from __future__ import annotations

import http.server
import json
import os
import secrets
import subprocess
import threading
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target") / "browser-screenshots"
WAIT = 10


class Server:
    """The binary on a free port with a manual clock."""

    def __init__(self) -> None:
        binary = os.environ.get("TOPUPS_MOCK_BIN") or str(ROOT / "target/debug/topups-mock")
        self.proc = subprocess.Popen(
            [binary, "--port", "0", "--clock", "manual", "--seed", "15", "--log-level", "warn"],
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()
        assert "listening on " in line, line
        self.url = line.strip().rsplit(" ", 1)[1]

    def api(self, key: str, method: str, path: str, params: dict | None = None) -> dict:
        data = urllib.parse.urlencode(params or {}).encode() if method == "POST" else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {key}")
        with urllib.request.urlopen(req, timeout=10) as res:
            return json.loads(res.read())

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


class Receiver(http.server.BaseHTTPRequestHandler):
    """A webhook endpoint that answers 200 with a small JSON body."""

    def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
        self.rfile.read(int(self.headers.get("content-length", 0)))
        body = b'{"received":true}'
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def server():
    srv = Server()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def receiver():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/webhook"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1360,900", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=os.environ.get("CHROMEDRIVER", "chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def key() -> str:
    return "sk_test_browser_" + secrets.token_hex(6)


def shot(driver, name: str) -> None:
    driver.save_screenshot(str(SHOTS / f"{name}.png"))


def wait(driver, condition, message: str):
    # Rows are re-rendered as notices arrive: an element found a moment
    # ago may be gone, so a stale one means "look again".
    return WebDriverWait(driver, WAIT, ignored_exceptions=[StaleElementReferenceException]).until(
        lambda d: condition(d), message)


def click(driver, selector: str) -> None:
    """Clicks what `selector` names once it is there (found afresh if the
    list was re-rendered in between)."""
    def attempt(d):
        d.find_element(By.CSS_SELECTOR, selector).click()
        return True
    wait(driver, attempt, f"cannot click {selector}")


def open_page(driver, server: Server, api_key: str) -> None:
    driver.get(server.url + "/dashboard")
    box = driver.find_element(By.ID, "key")
    box.clear()
    box.send_keys(api_key)
    driver.find_element(By.CSS_SELECTOR, "#key-form button[type=submit]").click()
    wait(driver, lambda d: d.find_element(By.ID, "live").text == "live", "the stream never connected")


def cell(driver, topup: str, cls: str) -> str:
    return driver.execute_script(
        "const c = document.querySelector(arguments[0]); return c ? c.textContent.trim() : '';",
        f'#topups tr[data-id="{topup}"] .{cls}')


def pending_topup(driver, server: Server, amount: str, currency: str) -> tuple[str, dict]:
    """Opens the page with a new key, creates a top-up through the API and
    waits for it to show as pending."""
    k = key()
    open_page(driver, server, k)
    t = server.api(k, "POST", "/v1/topups", {"amount": amount, "currency": currency})
    wait(driver, lambda d: cell(d, t["id"], "status-cell") == "pending", "not listed")
    return k, t


def no_page_errors(driver) -> None:
    """Nothing the page did was refused (a CSP violation, a script error)."""
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], errors


def test_page_loads_with_a_key(server, browser):
    open_page(browser, server, key())
    assert browser.title == "topups-mock dashboard"
    assert browser.find_element(By.ID, "app").is_displayed()
    wait(browser, lambda d: "No top-ups yet." in d.find_element(By.ID, "topups").text, "empty list")
    shot(browser, "01-loaded")
    no_page_errors(browser)


def test_a_topup_created_through_the_api_appears_without_a_reload(server, browser):
    k = key()
    open_page(browser, server, k)
    marker = browser.execute_script("return window.__marker = Math.random();")
    t = server.api(k, "POST", "/v1/topups", {"amount": "4200", "currency": "usd"})
    wait(browser, lambda d: cell(d, t["id"], "status-cell") == "pending", "the top-up never appeared")
    assert browser.execute_script("return window.__marker;") == marker, "the page reloaded"
    assert "42.00 USD" in browser.find_element(By.CSS_SELECTOR, f'tr[data-id="{t["id"]}"]').text
    shot(browser, "02-created-through-the-api")
    no_page_errors(browser)


def test_clicking_fail_shows_failed_with_its_code(server, browser):
    k, t = pending_topup(browser, server, "1500", "usd")
    Select(browser.find_element(By.ID, "fail-code")).select_by_visible_text("account_closed")
    click(browser, f'button[aria-label="Fail {t["id"]}"]')
    wait(browser, lambda d: cell(d, t["id"], "status-cell") == "failed", "never failed")
    assert "account_closed" in cell(browser, t["id"], "failure")
    # The API agrees: the page acted through it.
    assert server.api(k, "GET", f"/v1/topups/{t['id']}")["failure_code"] == "account_closed"
    shot(browser, "03-failed-with-its-code")
    no_page_errors(browser)


def test_advancing_the_clock_settles_a_pending_one(server, browser):
    _, t = pending_topup(browser, server, "700", "eur")
    seconds = browser.find_element(By.ID, "advance-seconds")
    seconds.clear()
    seconds.send_keys("10")
    browser.find_element(By.CSS_SELECTOR, "#advance-form button").click()
    wait(browser, lambda d: cell(d, t["id"], "status-cell") == "succeeded", "never settled")
    shot(browser, "04-settled-by-the-clock")
    # Its detail: every field, its balance transaction and its events.
    click(browser, f'tr[data-id="{t["id"]}"] button.id')
    wait(browser, lambda d: "topup.succeeded" in d.find_element(By.ID, "detail-events").text, "no detail")
    assert "txn_" in browser.find_element(By.ID, "detail-txn").text
    shot(browser, "05-detail")
    no_page_errors(browser)


def test_a_webhook_delivery_and_its_status_appear(server, browser, receiver):
    k = key()
    server.api(k, "POST", "/v1/webhook_endpoints", {"url": receiver, "enabled_events[]": "*"})
    open_page(browser, server, k)
    browser.find_element(By.CSS_SELECTOR, 'nav button[data-view="webhooks"]').click()
    wait(browser, lambda d: receiver in d.find_element(By.ID, "endpoints").text, "no endpoint")
    t = server.api(k, "POST", "/v1/topups", {"amount": "990", "currency": "usd"})
    created = server.api(k, "GET", "/v1/events", {})["data"]
    rows = '#deliveries tr[data-event]'
    wait(browser, lambda d: any(r.find_element(By.CSS_SELECTOR, ".delivery-status").text == "200"
                                for r in d.find_elements(By.CSS_SELECTOR, rows)), "no delivery shown")
    wait(browser, lambda d: '{"received":true}' in d.find_element(By.ID, "deliveries").text, "no excerpt")
    text = browser.find_element(By.ID, "deliveries").text
    assert '{"received":true}' in text
    assert t["id"] and any(e["type"] == "topup.created" for e in created)
    shot(browser, "06-webhook-delivery")
    no_page_errors(browser)


def test_overview(server, browser):
    """A mix of outcomes, for the README's picture."""
    k = key()
    for amount, outcome in [("2000", "succeeded"), ("1250", "failed"), ("500", "canceled"),
                            ("9900", None), ("3100", "succeeded")]:
        params = {"amount": amount, "currency": "usd"}
        if outcome:
            params["metadata[mock_outcome]"] = outcome
        server.api(k, "POST", "/v1/topups", params)
    server.api(k, "POST", "/v1/test_helpers/clock/advance", {"seconds": "6"})
    server.api(k, "POST", "/v1/topups", {"amount": "4500", "currency": "usd"})
    open_page(browser, server, k)
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#topups tr[data-id]")) == 6, "not all listed")
    wait(browser, lambda d: "insufficient_funds" in d.find_element(By.ID, "topups").text, "no failure shown")
    shot(browser, "00-overview")
    no_page_errors(browser)


def test_a_link_opens_the_page_and_a_burst_reaches_it(server, browser):
    """A link carrying the key in its fragment opens the page on that key
    (the key leaves the address bar, nothing is saved); 200 creates come
    faster than the stream writes frames, so it sums them up, and once the
    burst is over the page lists the newest 100 again."""
    k = key()
    browser.get(f"{server.url}/dashboard")
    browser.execute_script("localStorage.clear();")
    browser.get("about:blank")  # a fragment alone would not load the page anew
    browser.get(f"{server.url}/dashboard#key={k}")
    wait(browser, lambda d: d.find_element(By.ID, "live").text == "live", "the stream never connected")
    assert browser.execute_script("return localStorage.getItem('topups-mock-dashboard');") is None
    assert "#" not in browser.current_url, browser.current_url
    with ThreadPoolExecutor(8) as pool:
        created = list(pool.map(lambda i: server.api(k, "POST", "/v1/topups",
                                                     {"amount": str(100 + i), "currency": "usd"}),
                                range(200)))
    assert len({t["id"] for t in created}) == 200
    wait(browser, lambda d: int(d.find_element(By.ID, "live").get_attribute("data-summed") or 0) > 0,
         "no burst was summed up")
    newest = {t["id"] for t in server.api(k, "GET", "/v1/topups?limit=100")["data"]}
    wait(browser, lambda d: {r.get_attribute("data-id")
                             for r in d.find_elements(By.CSS_SELECTOR, "#topups tr[data-id]")} == newest,
         "the newest 100 top-ups are not listed after the burst")
    assert not browser.find_element(By.ID, "busy-note").is_displayed()
    shot(browser, "07-burst-through-a-link")
    no_page_errors(browser)
