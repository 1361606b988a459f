#!/usr/bin/env python3
"""Browser test of the Stratus alarm pages, driven by selenium through Debian's chromium.

Walks what an operator does: log in, create an SNS topic and an HTTP endpoint (pointing at a
webhook receiver this script runs on 127.0.0.1) on /endpoints, create an alarm on /alarms/new
(first with a bad threshold, which must be refused naming the field; then previewing the chart
with its threshold line; then saving), see the alarm listed on /alarms, press "Send test
notification" and wait until the page shows the test delivery as Delivered and the receiver got it.
The HTML selectors used here are the contract with Sources/Web/Templates/alarms*.mustache and
endpoints.mustache.

Environment:
  STRATUS_URL             base URL of a running `stratus serve` (default http://127.0.0.1:18080)
  STRATUS_ADMIN_PASSWORD  the admin password that server was started with (required)
  STRATUS_ARTIFACTS       where screenshots go (default ./artifacts)

Exit status: 0 when every check passes; 1 with the failing check's message otherwise
(a screenshot and the page source of the failure are saved as alarms-failure.png / .html).
Uses /usr/bin/chromium and /usr/bin/chromedriver only; it never downloads a driver.
"""

import json
import secrets
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urljoin

from browser_support import css, main, path_of, wait_until
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

STEP_TIMEOUT = 15
DELIVERY_TIMEOUT = 45      # the dispatcher sends pending entries within seconds


class Receiver(BaseHTTPRequestHandler):
    """A webhook that answers 200 and remembers every POST body."""
    received: list = []

    def do_POST(self):  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        Receiver.received.append({"path": self.path, "headers": dict(self.headers), "body": body.decode("utf-8", "replace")})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"ok":true}')

    def log_message(self, *args):
        pass


def one(driver, selector: str):
    found = css(driver, selector)
    assert found, f"{path_of(driver)} has no {selector}"
    return found[0]


def fill(driver, form: str, values: dict):
    for name, value in values.items():
        field = one(driver, f"{form} [name={name}]")
        field.clear()
        field.send_keys(value)


def run(driver, base: str, password: str, artifacts: Path, hook_url: str):
    tag = secrets.token_hex(3)
    topic, endpoint, alarm = f"ops-{tag}", f"hook-{tag}", f"vm-cpu-{tag}"

    # 1. Log in.
    driver.get(urljoin(base, "/alarms"))
    wait_until("redirect to /login", lambda: path_of(driver) == "/login", STEP_TIMEOUT)
    fill(driver, "form.login", {"accountName": "admin", "password": password})
    one(driver, "form.login button[type=submit]").click()
    wait_until("the dashboard after logging in", lambda: path_of(driver) == "/" and css(driver, "header.top"), STEP_TIMEOUT)
    assert css(driver, 'header.top a[href="/alarms"]'), "the header has no link to /alarms"
    print("ok: logged in; the header links to /alarms")

    # 2. A topic and an HTTP endpoint subscribed to it, on /endpoints.
    driver.get(urljoin(base, "/endpoints"))
    fill(driver, "#topic-form", {"name": topic})
    one(driver, "#topic-form button[type=submit]").click()
    wait_until(f"topic {topic} in table#topics",
               lambda: any(c.text == topic for c in css(driver, "table#topics td.topic-name")), STEP_TIMEOUT)
    fill(driver, "#http-form", {"name": endpoint, "url": hook_url})
    Select(one(driver, "#http-form select[name=topicUuid]")).select_by_visible_text(topic)
    one(driver, "#http-form button[type=submit]").click()
    row = wait_until(f"endpoint {endpoint} in table#endpoints", lambda: next(
        (r for r in css(driver, "table#endpoints tr.endpoint-row")
         if r.find_element(By.CSS_SELECTOR, "td.endpoint-name").text == endpoint), None), STEP_TIMEOUT)
    assert topic in row.text, f"endpoint row does not show its topic {topic}: {row.text!r}"
    print(f"ok: created topic {topic} and HTTP endpoint {endpoint} -> {hook_url}")

    # 3. The alarm form: a bad threshold is refused naming the field.
    driver.get(urljoin(base, "/alarms/new"))
    fill(driver, "#alarm-form", {"name": alarm, "threshold": "lots", "period": "60"})
    one(driver, "#alarm-form #save").click()
    error = wait_until("#form-error after a bad threshold", lambda: css(driver, "#form-error"), STEP_TIMEOUT)[0]
    assert "threshold" in error.text, f"the form error does not name the field: {error.text!r}"
    assert css(driver, '.field-error[data-field="threshold"]'), "no .field-error next to the threshold field"
    print(f"ok: bad threshold refused: {error.text!r}")

    # 4. Preview (a GET of the same form) draws the chart and the threshold line; then save.
    fill(driver, "#alarm-form", {"threshold": "95"})
    for box in css(driver, '#alarm-form input[name=actions]'):
        label = box.find_element(By.XPATH, "..").text.strip()
        if label == topic and not box.is_selected():
            box.click()
    one(driver, "#alarm-form #preview").click()
    wait_until("the preview chart with a threshold line",
               lambda: css(driver, "#preview-chart svg.chart path.threshold"), STEP_TIMEOUT)
    assert "threshold=95" in driver.current_url, f"preview did not carry the form in the URL: {driver.current_url}"
    driver.save_screenshot(str(artifacts / "alarm-form.png"))
    print(f"ok: preview chart drawn ({one(driver, '#preview-note').text})")
    one(driver, "#alarm-form #save").click()
    wait_until(f"alarm {alarm} listed in table#alarms on /alarms", lambda: path_of(driver) == "/alarms" and any(
        a.text == alarm for a in css(driver, "table#alarms a.alarm-link")), STEP_TIMEOUT)
    assert css(driver, "table#firing"), "/alarms has no table#firing"
    driver.save_screenshot(str(artifacts / "alarms.png"))
    print(f"ok: alarm {alarm} listed on /alarms")

    # 5. Send a test notification; the page shows it delivered and the receiver has it.
    driver.get(urljoin(base, "/endpoints"))
    row = next(r for r in css(driver, "table#endpoints tr.endpoint-row")
               if r.find_element(By.CSS_SELECTOR, "td.endpoint-name").text == endpoint)
    row.find_element(By.CSS_SELECTOR, "button.send-test").click()
    status = wait_until("#test-status after pressing Send test notification", lambda: css(driver, "#test-status"), STEP_TIMEOUT)[0]
    print(f"ok: test notification requested, status {status.get_attribute('data-status')}")
    final = wait_until("the test delivery to leave Pending (the page refreshes itself)",
                       lambda: (lambda s: s if s and s != "Pending" else None)(
                           css(driver, "#test-status") and css(driver, "#test-status")[0].get_attribute("data-status")),
                       DELIVERY_TIMEOUT)
    driver.save_screenshot(str(artifacts / "endpoints.png"))
    assert final == "Delivered", f"the test delivery ended {final}: {one(driver, '#test-status').text!r}"
    got = wait_until("the webhook receiver to get the POST", lambda: list(Receiver.received), STEP_TIMEOUT)
    body = got[-1]["body"]
    assert body.strip().startswith("{"), f"the webhook body is not JSON: {body[:200]!r}"
    json.loads(body)
    print(f"ok: test notification Delivered; the receiver got {len(got)} POST(s) to {got[-1]['path']}")


def run_with_receiver() -> int:
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    hook_url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    try:
        return main("alarms", lambda driver, base, password, artifacts: run(driver, base, password, artifacts, hook_url),
                    failure_stem="alarms-failure", window_size="1400,1200",
                    failures=(AssertionError, WebDriverException, StopIteration))
    finally:
        receiver.shutdown()


if __name__ == "__main__":
    sys.exit(run_with_receiver())
