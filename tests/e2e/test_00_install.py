"""Fresh install: (a) the one `scripts/local up` did with php-cli on an empty state dir, (b) one done through
the bridge with wp-admin/install.php, on a second table prefix that nobody installed yet."""
import re

import requests

from conftest import TIMEOUT, login


def test_scripts_local_install_completed(base, site_title):
    # install.php through the bridge knows the site is installed
    r = requests.get(f"{base}/wp-admin/install.php", timeout=TIMEOUT)
    assert r.status_code == 200, (r.status_code, dict(r.headers), r.text[:300])
    assert "Already Installed" in r.text
    # and the site is the one scripts/local installed (title), with /%postname%/ permalinks
    r = requests.get(f"{base}/", timeout=TIMEOUT)
    assert r.status_code == 200, (r.status_code, dict(r.headers), r.text[:300])
    assert f"<title>{site_title}</title>" in r.text
    assert f'href="{base}/hello-world/"' in r.text


def test_fresh_install_through_install_php(fresh_base):
    # Not installed yet: WordPress sends every page to the installer
    r = requests.get(f"{fresh_base}/", allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 302, r.status_code
    assert r.headers["Location"] == f"{fresh_base}/wp-admin/install.php"

    r = requests.get(f"{fresh_base}/wp-admin/install.php", timeout=TIMEOUT)
    assert r.status_code == 200, (r.status_code, dict(r.headers), r.text[:300])
    assert 'name="weblog_title"' in r.text or 'name="language"' in r.text

    r = requests.post(
        f"{fresh_base}/wp-admin/install.php?step=2",
        data={
            "weblog_title": "Fresh through the bridge",
            "user_name": "freshadmin",
            "admin_password": "fresh-Passw0rd-e2e",
            "admin_password2": "fresh-Passw0rd-e2e",
            "pw_weak": "on",
            "admin_email": "fresh@example.com",
            "blog_public": "1",
            "Submit": "Install WordPress",
            "language": "",
        },
        timeout=TIMEOUT,
    )
    assert r.status_code == 200, r.text[:500]
    assert "<h1>Success!</h1>" in r.text, re.sub(r"\s+", " ", r.text)[:800]

    # the new site answers with its own title, and its admin can log in
    r = requests.get(f"{fresh_base}/", timeout=TIMEOUT)
    assert r.status_code == 200, (r.status_code, dict(r.headers), r.text[:300])
    assert "<title>Fresh through the bridge</title>" in r.text
    s = requests.Session()
    r = login(s, fresh_base, "freshadmin", "fresh-Passw0rd-e2e")
    assert r.status_code == 302, r.text[:300]
    r = s.get(f"{fresh_base}/wp-admin/", timeout=TIMEOUT)
    assert r.status_code == 200, (r.status_code, dict(r.headers), r.text[:300])
    assert "<title>Dashboard" in r.text
