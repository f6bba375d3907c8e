"""Behind CloudFront: the distribution adds the origin secret header, and a viewer-request function puts the
viewer's host in X-Forwarded-Host; CloudFront itself sends X-Forwarded-Proto. The bridge instance under test
was started with LAMBDA_FPM_ORIGIN_SECRET."""
import re
from http.cookies import SimpleCookie

import pytest
import requests

from conftest import TIMEOUT

PUBLIC = "www.e2e-public.example"


@pytest.fixture(scope="module")
def cf_headers(origin_secret):
    return {"x-origin-secret": origin_secret, "X-Forwarded-Host": PUBLIC, "X-Forwarded-Proto": "https"}


def _set_cookies(r):
    """All Set-Cookie headers of a response, parsed (requests' jar drops Secure cookies on http URLs)."""
    out = {}
    for raw in r.raw.headers.getlist("Set-Cookie"):
        c = SimpleCookie()
        c.load(raw)
        for k, m in c.items():
            out[k] = (m.value, m)
    return out


def test_without_secret_is_refused(secret_base):
    r = requests.get(f"{secret_base}/", allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 403
    r = requests.get(f"{secret_base}/wp-login.php", headers={"X-Forwarded-Host": PUBLIC,
                                                            "X-Forwarded-Proto": "https"},
                     allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 403
    assert "wp-login" not in r.text


def test_wrong_secret_is_refused(secret_base, origin_secret):
    r = requests.get(f"{secret_base}/", headers={"x-origin-secret": origin_secret + "x"},
                     allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 403
    r = requests.get(f"{secret_base}/wp-content/themes/twentytwentythree/style.css",
                     headers={"x-origin-secret": "nope"}, allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 403  # static files too


def test_links_use_public_https_name(secret_base, cf_headers):
    r = requests.get(f"{secret_base}/", headers=cf_headers, allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 200, (r.status_code, dict(r.headers), r.text[:300])
    assert f'href="https://{PUBLIC}/hello-world/"' in r.text
    assert f"https://{PUBLIC}/wp-includes/" in r.text or f"https:\\/\\/{PUBLIC}\\/wp-includes" in r.text
    # nothing points at the origin (the local emulator's host or plain http)
    assert "127.0.0.1" not in r.text
    assert f"http://{PUBLIC}" not in r.text
    assert f'<link rel="https://api.w.org/" href="https://{PUBLIC}/wp-json/"' in r.text or \
        f"<https://{PUBLIC}/wp-json/>" in r.headers.get("Link", "")


def test_canonical_redirect_stays_on_public_https(secret_base, cf_headers):
    r = requests.get(f"{secret_base}/hello-world", headers=cf_headers, allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 301
    assert r.headers["Location"] == f"https://{PUBLIC}/hello-world/"


def test_wp_admin_behind_cloudfront_login_and_no_redirect_loop(secret_base, cf_headers, admin):
    # not logged in: one redirect, to the public https login page
    r = requests.get(f"{secret_base}/wp-admin/", headers=cf_headers, allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 302
    assert r.headers["Location"].startswith(f"https://{PUBLIC}/wp-login.php?redirect_to=")

    # log in like a browser on https://PUBLIC
    r = requests.get(f"{secret_base}/wp-login.php", headers=cf_headers, timeout=TIMEOUT)
    assert r.status_code == 200, (r.status_code, dict(r.headers), r.text[:300])
    assert f'action="https://{PUBLIC}/wp-login.php"' in r.text
    cookie = "wordpress_test_cookie=WP%20Cookie%20check"
    r = requests.post(
        f"{secret_base}/wp-login.php",
        headers={**cf_headers, "Cookie": cookie},
        data={"log": admin[0], "pwd": admin[1], "wp-submit": "Log In",
              "redirect_to": f"https://{PUBLIC}/wp-admin/", "testcookie": "1"},
        allow_redirects=False, timeout=TIMEOUT,
    )
    assert r.status_code == 302, r.text[:500]
    assert r.headers["Location"] == f"https://{PUBLIC}/wp-admin/"
    cookies = _set_cookies(r)
    # WordPress saw HTTPS: the admin cookie is the secure one, and it is marked Secure
    sec = [k for k in cookies if k.startswith("wordpress_sec_")]
    assert sec, list(cookies)
    assert cookies[sec[0]][1]["secure"]
    assert any(k.startswith("wordpress_logged_in_") for k in cookies)

    # what a browser keeps (WordPress clears cookies with an empty value and a past expiry)
    jar = "; ".join(f"{k}={v}" for k, (v, m) in cookies.items() if v.strip())
    # follow redirects by hand (a browser would): must settle on the dashboard quickly
    url, hops = f"{secret_base}/wp-admin/", 0
    while True:
        r = requests.get(url, headers={**cf_headers, "Cookie": jar}, allow_redirects=False, timeout=TIMEOUT)
        if r.status_code not in (301, 302, 303, 307, 308):
            break
        hops += 1
        assert hops < 5, f"redirect loop: {r.headers['Location']}"
        loc = r.headers["Location"]
        assert loc.startswith(f"https://{PUBLIC}/"), loc
        url = secret_base + loc[len(f"https://{PUBLIC}"):]
    assert r.status_code == 200, (r.status_code, dict(r.headers), r.text[:300])
    assert hops == 0
    assert "<title>Dashboard" in r.text
    assert f"https://{PUBLIC}/wp-admin/" in r.text
    assert not re.search(r"http://127\.0\.0\.1", r.text)
