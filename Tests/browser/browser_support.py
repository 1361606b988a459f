"""What the browser tests share: Debian's headless chromium, polling waits, and the harness that
reads the environment, runs one test and saves a screenshot + page source when it fails.

Environment read by `main`:
  STRATUS_URL             base URL of a running `stratus serve` (default http://127.0.0.1:18080)
  STRATUS_ADMIN_PASSWORD  the admin password that server was started with (required)
  STRATUS_ARTIFACTS       where screenshots go (default ./artifacts)
Uses /usr/bin/chromium and /usr/bin/chromedriver only; it never downloads a driver.
"""

import os
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

# Never let Selenium Manager reach the network for a driver or a browser.
os.environ.setdefault("SE_OFFLINE", "true")

from selenium import webdriver  # noqa: E402  (after SE_OFFLINE on purpose)
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PAGE_LOAD_TIMEOUT = 30     # seconds


def make_driver(window_size: str = "1400,1000") -> webdriver.Chrome:
    """Headless Debian chromium through Debian's chromedriver."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={window_size}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(PAGE_LOAD_TIMEOUT)
    return driver


def path_of(driver) -> str:
    return urlparse(driver.current_url).path or "/"


def wait_until(what: str, check, timeout: float, driver=None, reload_every: float | None = None):
    """Poll `check()` until it returns a truthy value (returned) or fail with `what` after `timeout`.

    With `reload_every`, the page is reloaded that often (for pages that fill in over time).
    """
    deadline = time.monotonic() + timeout
    next_reload = time.monotonic() + (reload_every or timeout)
    last_error = None
    while True:
        try:
            result = check()
            if result:
                return result
        except (StaleElementReferenceException, WebDriverException) as e:
            last_error = e  # page was changing under us; try again
        now = time.monotonic()
        if now >= deadline:
            detail = f" (last error: {last_error.__class__.__name__})" if last_error else ""
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}{detail}")
        if reload_every and now >= next_reload:
            driver.refresh()
            next_reload = now + reload_every
        time.sleep(0.25)


def css(driver, selector: str):
    return driver.find_elements(By.CSS_SELECTOR, selector)


def main(name: str, run, failure_stem: str, window_size: str = "1400,1000",
         failures: tuple = (AssertionError, WebDriverException)) -> int:
    """Runs `run(driver, base, password, artifacts)`; 0 when it returns, 1 with the failing
    check's message otherwise (saving `<failure_stem>.png` / `.html` into the artifacts)."""
    base = os.environ.get("STRATUS_URL", "http://127.0.0.1:18080").rstrip("/") + "/"
    password = os.environ.get("STRATUS_ADMIN_PASSWORD", "")
    if not password:
        print("FAIL: STRATUS_ADMIN_PASSWORD is not set; export the password the server was started with",
              file=sys.stderr)
        return 1
    artifacts = Path(os.environ.get("STRATUS_ARTIFACTS", "artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)

    try:
        driver = make_driver(window_size)
    except WebDriverException as e:
        print(f"FAIL: could not start {CHROMIUM} through {CHROMEDRIVER}: {e.msg}", file=sys.stderr)
        return 1
    try:
        run(driver, base, password, artifacts)
    except failures as e:
        message = f"browser error: {e.msg}" if isinstance(e, WebDriverException) else str(e) or e.__class__.__name__
        where = "unknown page"
        try:
            where = driver.current_url
            driver.save_screenshot(str(artifacts / f"{failure_stem}.png"))
            (artifacts / f"{failure_stem}.html").write_text(driver.page_source)
        except WebDriverException:
            pass  # the browser itself is gone; the message is all we have
        print(f"FAIL: {message} (at {where}; see {artifacts}/{failure_stem}.png)", file=sys.stderr)
        return 1
    finally:
        driver.quit()
    print(f"PASS: {name} browser test")
    return 0
