"""Fixtures of the browser suite: a headless Chromium (Debian's, through chromium-driver and Selenium) per
mode, and a guard around every scenario.

tests/browser/run.sh starts the site and exports:
  BROWSER_PLAIN_URL      the plain instance, e.g. http://127.0.0.1:9320 (mode "plain")
  BROWSER_PUBLIC_URL     https://www.browser-public.example: the local CloudFront (front.py, listening on
  BROWSER_FRONT_ADDR)    BROWSER_FRONT_ADDR) in front of the instance with the origin secret (mode "cloudfront")
  BROWSER_PLAIN_PHP_LOGS / BROWSER_SECRET_PHP_LOGS  the bridges' logs of each (':'-separated), which
                         carry php-fpm's own log lines
  BROWSER_FRONT          bench or watch: what serves the Function URL (run.sh says why bench)
  BROWSER_SPKI           base64 SHA-256 of the front's throwaway certificate key (the only one accepted)
  BROWSER_EFS_ROOT, BROWSER_OUT_DIR, BROWSER_ADMIN_USER, BROWSER_ADMIN_PASSWORD

The guard fails a scenario that passed its own assertions when, while it ran:
  - the browser logged a console message of level SEVERE (a JavaScript error, a failed resource load);
  - a request to the site answered a status >= 400 the scenario did not declare (guard.expect), or failed
    on the network (not a cancellation by the page itself);
  - in cloudfront mode, the page made a request to the site by any name but the public https one;
  - php-fpm's log (the instance's watch log) gained a PHP Fatal error or Warning from any file, or a
    Deprecated notice from WordPress core or the project's own PHP (tests/e2e/php_log.py).
Requests to other hosts (gravatar, wordpress.org) cannot succeed on a machine without internet: the
browser resolves no other name, and those failures are listed in the artefacts, not counted.
On any failure the scenario's screenshot, page source, console log, network log and new PHP log lines
are written to BROWSER_OUT_DIR/<scenario>/.
"""
import json
import os
import re
import shutil
import sys
import tempfile
import time
from urllib.parse import urlsplit

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
from php_log import PHP_ERROR, findings  # noqa: E402

WAIT = 60  # seconds: a cold php-fpm, an empty opcache and the editor's first load take a few seconds here
MODES = ("plain", "cloudfront")
# Chromium's flags for a machine without internet: no background connections, no sandbox (root)
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1400,1000", "--lang=en-US"]


def env(name):
    v = os.environ.get(name)
    if not v:
        pytest.exit(f"{name} is not set: run the suite with tests/browser/run.sh", returncode=2)
    return v


class Site:
    """One way to reach the site: its URL as the browser sees it and the instance behind it."""

    def __init__(self, mode):
        self.mode = mode
        self.base = env("BROWSER_PUBLIC_URL" if mode == "cloudfront" else "BROWSER_PLAIN_URL").rstrip("/")
        self.host = urlsplit(self.base).netloc
        self.php_logs = env("BROWSER_SECRET_PHP_LOGS" if mode == "cloudfront" else "BROWSER_PLAIN_PHP_LOGS").split(":")
        self.user = env("BROWSER_ADMIN_USER")
        self.password = env("BROWSER_ADMIN_PASSWORD")

    def url(self, path):
        return self.base + path

    def is_site(self, url):
        return urlsplit(url).netloc == self.host


def make_driver(site, profile):
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in CHROMIUM_FLAGS:
        opts.add_argument(a)
    opts.add_argument(f"--user-data-dir={profile}")
    # no name resolves but 127.0.0.1 and, in cloudfront mode, the public name, which goes to the front;
    # its throwaway certificate is the only one accepted besides real ones
    rules = "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
    if site.mode == "cloudfront":
        rules = f"MAP {site.host}:443 {env('BROWSER_FRONT_ADDR')}, " + rules
        opts.add_argument(f"--ignore-certificate-errors-spki-list={env('BROWSER_SPKI')}")
    opts.add_argument(f"--host-resolver-rules={rules}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    drv = webdriver.Chrome(options=opts, service=Service("/usr/bin/chromedriver"))
    drv.set_page_load_timeout(WAIT)
    drv.set_script_timeout(WAIT)
    return drv


@pytest.fixture(scope="session", params=MODES)
def site(request):
    return Site(request.param)


@pytest.fixture(scope="session")
def driver(site):
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not look for drivers online
    profile = tempfile.mkdtemp(prefix=f"lambda-fpm-chromium-{site.mode}-")
    drv = make_driver(site, profile)
    yield drv
    drv.quit()
    shutil.rmtree(profile, ignore_errors=True)


class Guard:
    """What the browser and php-fpm reported while one scenario ran (see the module's docstring)."""

    def __init__(self, driver, site):
        self.driver, self.site = driver, site
        self.console, self.requests, self.expected = [], {}, []
        self.drain()  # what earlier scenarios left in the buffers is theirs
        self.console, self.requests = [], {}
        self.log_offsets = {p: os.path.getsize(p) if os.path.exists(p) else 0 for p in site.php_logs}

    def expect(self, status, url_pattern, why):
        """Declare that a request to a URL matching url_pattern may answer status: the scenario wants it."""
        self.expected.append((status, re.compile(url_pattern), why))

    def _is_expected(self, status, url):
        return any(s == status and p.search(url) for s, p, _ in self.expected)

    def drain(self):
        try:
            self.console += self.driver.get_log("browser")
            perf = self.driver.get_log("performance")
        except Exception as e:  # a dead browser is reported by the scenario itself
            self.console.append({"level": "SEVERE", "source": "guard", "message": f"could not read logs: {e}"})
            return
        for e in perf:
            msg = json.loads(e["message"])["message"]
            m, p = msg.get("method", ""), msg.get("params", {})
            rid = p.get("requestId")
            if m == "Network.requestWillBeSent":
                r = self.requests.setdefault(rid, {"id": rid})
                if p.get("redirectResponse"):
                    r.setdefault("redirects", []).append(
                        {"url": p["redirectResponse"]["url"], "status": p["redirectResponse"]["status"]})
                r.update(url=p["request"]["url"], method=p["request"]["method"], type=p.get("type"))
            elif m == "Network.responseReceived":
                r = self.requests.setdefault(rid, {"id": rid, "url": p["response"]["url"]})
                r.update(status=p["response"]["status"], mime=p["response"].get("mimeType"),
                         protocol=p["response"].get("protocol"))
            elif m == "Network.loadingFailed":
                r = self.requests.setdefault(rid, {"id": rid, "url": "?"})
                r.update(failed=p.get("errorText"), canceled=p.get("canceled", False),
                         blocked=p.get("blockedReason"))

    def php_lines(self):
        lines = []
        for path, offset in self.log_offsets.items():
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    f.seek(offset)
                    lines += f.read().splitlines()
        return lines

    def problems(self):
        self.drain()
        out = []
        web = [r for r in self.requests.values() if r.get("url", "").startswith(("http://", "https://"))]
        for r in web:
            url, status = r["url"], r.get("status")
            if not self.site.is_site(url):
                continue
            if status is not None and status >= 400 and not self._is_expected(status, url):
                out.append(f"HTTP {status} for {r.get('method')} {url}")
            if r.get("failed") and not r.get("canceled") and status is None:
                out.append(f"request failed ({r['failed']}{', ' + r['blocked'] if r.get('blocked') else ''}): "
                           f"{r.get('method')} {url}")
        if self.site.mode == "cloudfront":
            # every request the pages made for the site's own resources went to the public https name
            for r in web:
                u = urlsplit(r["url"])
                if u.hostname in ("127.0.0.1", "localhost") or (u.hostname == urlsplit(self.site.base).hostname
                                                                 and u.scheme != "https"):
                    out.append(f"request to the origin or over http, not the public https URL: {r['url']}")
        for c in self.console:
            if c.get("level") != "SEVERE":
                continue
            text = c.get("message", "")
            url = text.split(" ", 1)[0]
            if c.get("source") == "network" and url.startswith("http"):
                if not self.site.is_site(url):
                    continue  # another host: this machine has no internet (listed in the artefacts)
                m = re.search(r"status of (\d{3})", text)
                if m and self._is_expected(int(m.group(1)), url):
                    continue
            out.append(f"console SEVERE ({c.get('source')}): {text}")
        mine, others = findings(self.php_lines(), env("BROWSER_EFS_ROOT"), REPO)
        out += mine
        out += [o for o in others if not o.startswith("PHP Deprecated")]
        return out

    def external(self):
        return sorted({r["url"] for r in self.requests.values()
                       if r.get("url", "").startswith("http") and not self.site.is_site(r["url"])})

    def save(self, directory):
        os.makedirs(directory, exist_ok=True)
        for what, call in (("screenshot.png", lambda p: self.driver.save_screenshot(p)),
                           ("page.html", lambda p: open(p, "w").write(self.driver.page_source))):
            try:
                call(os.path.join(directory, what))
            except Exception as e:  # the browser may be the thing that broke
                with open(os.path.join(directory, what + ".error"), "w") as f:
                    f.write(repr(e))
        self.drain()
        with open(os.path.join(directory, "browser-log.json"), "w") as f:
            json.dump(self.console, f, indent=1)
        with open(os.path.join(directory, "network.json"), "w") as f:
            json.dump(list(self.requests.values()), f, indent=1)
        with open(os.path.join(directory, "php-fpm.log"), "w") as f:
            f.write("\n".join(self.php_lines()) + "\n")
        try:
            url = self.driver.current_url
        except Exception:
            url = "?"
        with open(os.path.join(directory, "summary.txt"), "w") as f:
            f.write(f"mode: {self.site.mode}\ncurrent URL: {url}\nother hosts (no internet here):\n  "
                    + "\n  ".join(self.external()) + "\n")


@pytest.fixture
def guard(driver, site):
    g = Guard(driver, site)
    yield g


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    # the guard's findings fail the scenario itself (not its teardown), after its own assertions passed
    result = yield
    g = item.funcargs.get("guard")
    if g is not None:
        found = g.problems()
        assert not found, f"{len(found)} problem(s) while the scenario ran:\n  " + "\n  ".join(found[:40])
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    g = item.funcargs.get("guard") if hasattr(item, "funcargs") else None
    if report.failed and g is not None and report.when in ("setup", "call"):
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.name)
        directory = os.path.join(env("BROWSER_OUT_DIR"), name)
        g.save(directory)
        report.sections.append(("browser artefacts", directory))
    return report


# ------------------------------------------------------------------------------------------------ helpers
def wait(driver, timeout=WAIT):
    # React and Backbone views re-render while a scenario waits on them: a stale element is a retry
    return WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,))


def visible(driver, css, timeout=WAIT):
    return wait(driver, timeout).until(EC.visibility_of_element_located((By.CSS_SELECTOR, css)))


def clickable(driver, css, timeout=WAIT):
    return wait(driver, timeout).until(EC.element_to_be_clickable((By.CSS_SELECTOR, css)))


def logged_in(driver):
    return bool(driver.get_cookies()) and any(c["name"].startswith("wordpress_logged_in_")
                                              for c in driver.get_cookies())


def log_in(driver, site):
    driver.get(site.url("/wp-login.php"))
    user = visible(driver, "#user_login")
    # WordPress focuses the field after load; type only once it is settled
    user.clear()
    user.send_keys(site.user)
    pw = driver.find_element(By.CSS_SELECTOR, "#user_pass")
    pw.clear()
    pw.send_keys(site.password)
    driver.find_element(By.CSS_SELECTOR, "#wp-submit").click()
    visible(driver, "#wpadminbar")


def ensure_logged_in(driver, site):
    """Scenarios do not depend on each other: each logs in unless the session already is."""
    if driver.current_url.startswith(site.base) and logged_in(driver):
        return
    driver.get(site.url("/wp-admin/"))
    try:
        visible(driver, "#wpadminbar", timeout=5)
    except TimeoutException:
        log_in(driver, site)


def settle(driver, seconds=0.5):
    """Wait until the page has made no new request for `seconds` (the admin's scripts fetch after load)."""
    script = "return performance.getEntriesByType('resource').length"
    last, since = -1, time.monotonic()
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        n = driver.execute_script(script)
        if n != last:
            last, since = n, time.monotonic()
        elif time.monotonic() - since >= seconds:
            return
        time.sleep(0.1)
