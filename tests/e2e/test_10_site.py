"""Public pages a visitor sees."""
import xml.etree.ElementTree as ET

import requests

from conftest import TIMEOUT


def test_home_lists_posts(base):
    r = requests.get(f"{base}/", timeout=TIMEOUT)
    assert r.status_code == 200, (r.status_code, dict(r.headers), r.text[:300])
    assert r.headers["Content-Type"].startswith("text/html")
    assert "Hello world!" in r.text
    assert f'href="{base}/hello-world/"' in r.text
    assert "</html>" in r.text  # the whole page, not a truncated body


def test_pretty_permalink(base):
    r = requests.get(f"{base}/hello-world/", allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 200, (r.status_code, dict(r.headers), r.text[:300])
    assert "Hello world!" in r.text
    assert "single-post" in r.text  # body class of a single post view: WordPress routed it as a post


def test_permalink_without_trailing_slash_redirects_canonically(base):
    r = requests.get(f"{base}/hello-world", allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 301
    assert r.headers["Location"] == f"{base}/hello-world/"


def test_missing_page_is_wordpress_404(base):
    r = requests.get(f"{base}/this-page-does-not-exist-e2e/", timeout=TIMEOUT)
    assert r.status_code == 404
    assert r.headers["Content-Type"].startswith("text/html")
    assert "error404" in r.text  # WordPress's body class for its 404 template


def test_feed_is_xml(base):
    r = requests.get(f"{base}/feed/", timeout=TIMEOUT)
    assert r.status_code == 200, (r.status_code, dict(r.headers), r.text[:300])
    assert r.headers["Content-Type"].startswith("application/rss+xml")
    root = ET.fromstring(r.content)
    assert root.tag == "rss"
    titles = [t.text for t in root.iter("title")]
    assert "Hello world!" in titles


def test_rest_api_posts_json(base):
    r = requests.get(f"{base}/wp-json/wp/v2/posts", timeout=TIMEOUT)
    assert r.status_code == 200, (r.status_code, dict(r.headers), r.text[:300])
    assert r.headers["Content-Type"].startswith("application/json")
    posts = r.json()
    assert isinstance(posts, list) and posts
    assert "Hello world!" in [p["title"]["rendered"] for p in posts]
    assert int(r.headers["X-WP-Total"]) >= 1
