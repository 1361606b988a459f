#!/usr/bin/env python3
"""Browser test of the Stratus dashboard, driven by selenium through Debian's chromium.

Walks what a person does: open the site, get sent to /login, fail with a wrong password, log in,
read the hosts and VMs tables, open a VM page and wait for its charts to show data, open a host
page. The HTML selectors used here are the contract with the templates in Sources/Web/Templates.

Environment:
  STRATUS_URL             base URL of a running `stratus serve` (default http://127.0.0.1:18080)
  STRATUS_ADMIN_PASSWORD  the admin password that server was started with (required)
  STRATUS_ARTIFACTS       where screenshots go (default ./artifacts)

Exit status: 0 when every check passes; 1 with the failing check's message otherwise
(a screenshot and the page source of the failure are saved as failure.png / failure.html).
Uses /usr/bin/chromium and /usr/bin/chromedriver only; it never downloads a driver.
"""

import secrets
import sys
from pathlib import Path
from urllib.parse import urljoin, urlparse

from browser_support import css, main, path_of, wait_until
from selenium.webdriver.common.by import By

# Bounded waits, in seconds.
STEP_TIMEOUT = 15          # a navigation or form post to settle
CHART_TIMEOUT = 40         # collectors need a couple of intervals before charts have points
CHART_RELOAD_EVERY = 5

MIN_HOSTS = 3
MIN_VMS = 8
MIN_VM_CHARTS = 2          # CPU and memory


def fill_login(driver, account: str, password: str):
    name = css(driver, "input[name=accountName]")
    pw = css(driver, "input[name=password]")
    button = css(driver, "button[type=submit]")
    assert name, "login page has no input[name=accountName]"
    assert pw, "login page has no input[name=password]"
    assert button, "login page has no button[type=submit]"
    name[0].clear()
    name[0].send_keys(account)
    pw[0].clear()
    pw[0].send_keys(password)
    button[0].click()


def check_table(driver, table_id: str, minimum: int):
    """table#<id> has at least `minimum` body rows and each row has a non-empty td.state."""
    rows = css(driver, f"table#{table_id} tbody tr")
    assert len(rows) >= minimum, f"table#{table_id} has {len(rows)} rows in tbody, expected at least {minimum}"
    for i, row in enumerate(rows, start=1):
        states = row.find_elements(By.CSS_SELECTOR, "td.state")
        assert states, f"table#{table_id} row {i} has no td.state cell"
        assert states[0].text.strip(), f"table#{table_id} row {i} has an empty td.state cell"
    return len(rows)


def charts_with_data(driver, minimum_charts: int):
    """(chart count, drawn line count) once the first `minimum_charts` charts each draw a line.

    A line is a path.series whose `d` joins at least two points ("L"), so a chart that shows only
    a first isolated sample does not count yet."""
    charts = css(driver, "svg.chart")
    if len(charts) < minimum_charts:
        return None
    drawn = 0
    for chart in charts[:minimum_charts]:
        lines = [p for p in chart.find_elements(By.CSS_SELECTOR, "path.series") if "L" in (p.get_attribute("d") or "")]
        if not lines:
            return None
        drawn += len(lines)
    return (len(charts), drawn)


def any_chart_with_line(driver):
    """True once some svg.chart draws a path.series joining two points."""
    return any("L" in (p.get_attribute("d") or "") for p in css(driver, "svg.chart path.series")) or None


def latest_values_shown(driver):
    """Number of VM rows whose td.cpu shows a percentage, or None while none does."""
    cells = [c for c in css(driver, "table#vms td.cpu") if c.text.strip().endswith("%")]
    return len(cells) or None


def run(driver, base: str, password: str, artifacts: Path):
    # 1. Anonymous visit → the login page.
    driver.get(urljoin(base, "/"))
    wait_until("redirect from / to /login", lambda: path_of(driver) == "/login", STEP_TIMEOUT)
    print("ok: / redirects to /login")

    # 2. A wrong password shows an error and stays on /login.
    fill_login(driver, "admin", "wrong-" + secrets.token_hex(8))
    wait_until("an .error element after a wrong password", lambda: css(driver, ".error"), STEP_TIMEOUT)
    assert path_of(driver) == "/login", f"after a wrong password the browser is on {path_of(driver)}, expected /login"
    print("ok: wrong password shows .error and stays on /login")

    # 3. The right password → the overview at /.
    fill_login(driver, "admin", password)
    wait_until("the overview page / after logging in", lambda: path_of(driver) == "/" and css(driver, "table#hosts"),
               STEP_TIMEOUT)
    hosts = check_table(driver, "hosts", MIN_HOSTS)
    vms = check_table(driver, "vms", MIN_VMS)
    shown = wait_until("a CPU percentage in table#vms td.cpu (live data on the overview)",
                       lambda: latest_values_shown(driver), CHART_TIMEOUT, driver, CHART_RELOAD_EVERY)
    driver.save_screenshot(str(artifacts / "dashboard.png"))
    print(f"ok: overview lists {hosts} hosts and {vms} VMs, each with a state; {shown} VMs show live CPU")

    host_links = css(driver, "a.host-link")
    assert host_links, "the overview has no a.host-link"
    host_href = host_links[0].get_attribute("href")
    vm_links = css(driver, "a.vm-link")
    assert vm_links, "the overview has no a.vm-link"

    # 4. A VM page: CPU and memory charts, at least one series drawn.
    vm_links[0].click()
    wait_until("a VM page (/vms/…) after clicking the first a.vm-link",
               lambda: path_of(driver).startswith("/vms/"), STEP_TIMEOUT)
    charts, drawn = wait_until(
        f"at least {MIN_VM_CHARTS} svg.chart and one svg.chart path.series with a non-empty d on {path_of(driver)}",
        lambda: charts_with_data(driver, MIN_VM_CHARTS), CHART_TIMEOUT, driver, CHART_RELOAD_EVERY)
    driver.save_screenshot(str(artifacts / "vm-page.png"))
    print(f"ok: VM page {path_of(driver)} has {charts} charts, {drawn} series drawn")

    # 5. A host page has a chart.
    driver.get(host_href)
    wait_until(f"a chart drawing a line on the host page {urlparse(host_href).path}",
               lambda: any_chart_with_line(driver), CHART_TIMEOUT, driver, CHART_RELOAD_EVERY)
    driver.save_screenshot(str(artifacts / "host-page.png"))
    print(f"ok: host page {path_of(driver)} has a chart")


if __name__ == "__main__":
    sys.exit(main("dashboard", run, failure_stem="failure"))
