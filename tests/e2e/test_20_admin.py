"""What a site owner does in wp-admin: log in, dashboard, write posts, upload media."""
import hashlib
import html
import json
import os
import random
import re
import struct
import time
import zlib
from urllib.parse import urlsplit

import requests

from conftest import TIMEOUT, extract, login


def test_login_sets_auth_cookies(base, admin):
    s = requests.Session()
    r = login(s, base, *admin)
    assert r.status_code == 302, r.text[:500]
    assert r.headers["Location"] == f"{base}/wp-admin/"
    names = [c.name for c in r.cookies]
    # wordpress_<hash> (path /wp-admin, plugins) and wordpress_logged_in_<hash> (path /): several Set-Cookie
    # headers in one response must all arrive
    assert any(n.startswith("wordpress_logged_in_") for n in names), names
    assert any(n.startswith("wordpress_") and not n.startswith(("wordpress_logged_in_", "wordpress_test_cookie"))
               for n in names), names
    by_name = {c.name: c for c in r.cookies}
    logged_in = next(c for n, c in by_name.items() if n.startswith("wordpress_logged_in_"))
    assert logged_in.path == "/"
    assert logged_in.has_nonstandard_attr("HttpOnly") or "httponly" in str(r.raw.headers).lower()


def test_wrong_password_is_refused(base, admin):
    s = requests.Session()
    r = login(s, base, admin[0], admin[1] + "-wrong")
    assert r.status_code == 200  # the login form again, with an error
    assert "login_error" in r.text
    assert not any(c.name.startswith("wordpress_logged_in_") for c in r.cookies)


def test_dashboard_with_cookies(admin_session, base):
    r = admin_session.get(f"{base}/wp-admin/", allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 200, (r.status_code, dict(r.headers), r.text[:300])
    assert "<title>Dashboard" in r.text
    assert 'id="wpadminbar"' in r.text


def test_wp_admin_without_cookies_redirects_to_login(base):
    r = requests.get(f"{base}/wp-admin/", allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 302
    loc = r.headers["Location"]
    assert loc.startswith(f"{base}/wp-login.php?redirect_to="), loc


def test_create_post_via_block_editor_rest_flow(admin_session, base):
    """What the block editor does: post-new.php creates an auto-draft and embeds the wp_rest nonce; the
    editor then saves through the REST API with X-WP-Nonce."""
    r = admin_session.get(f"{base}/wp-admin/post-new.php", timeout=TIMEOUT)
    assert r.status_code == 200, (r.status_code, dict(r.headers), r.text[:300])
    nonce = extract(r'createNonceMiddleware\(\s*"([0-9a-f]+)"\s*\)', r.text, "wp_rest nonce")
    post_id = _post_id(r.text)
    title = f"E2E block editor post {int(time.time())}"
    r = admin_session.post(
        f"{base}/wp-json/wp/v2/posts/{post_id}",
        headers={"X-WP-Nonce": nonce, "X-HTTP-Method-Override": "PUT", "Content-Type": "application/json"},
        data=json.dumps({"title": title, "content": "<!-- wp:paragraph --><p>Written through the bridge.</p>"
                                                     "<!-- /wp:paragraph -->", "status": "publish"}),
        timeout=TIMEOUT,
    )
    assert r.status_code == 200, r.text[:500]
    saved = r.json()
    assert saved["id"] == post_id and saved["status"] == "publish"
    link = saved["link"]
    assert link.startswith(f"{base}/e2e-block-editor-post-"), link

    r = requests.get(f"{base}/", timeout=TIMEOUT)
    assert r.status_code == 200, (r.status_code, dict(r.headers), r.text[:300])
    assert title in r.text
    r = requests.get(link, timeout=TIMEOUT)
    assert r.status_code == 200, (r.status_code, dict(r.headers), r.text[:300])
    assert "Written through the bridge." in r.text


def test_rest_write_without_nonce_is_refused(admin_session, base):
    r = admin_session.post(f"{base}/wp-json/wp/v2/posts", json={"title": "no nonce", "status": "publish"},
                           timeout=TIMEOUT)
    assert r.status_code == 401, r.status_code  # cookie auth without nonce = not logged in for REST


def test_create_post_via_classic_post_php_form(admin_session, base):
    """The classic form flow: post.php?action=editpost with the update-post_<id> nonce from the editor page."""
    r = admin_session.get(f"{base}/wp-admin/post-new.php", timeout=TIMEOUT)
    assert r.status_code == 200, (r.status_code, dict(r.headers), r.text[:300])
    post_id = _post_id(r.text)
    # the block editor page keeps the classic (meta box) form with its _wpnonce for update-post_<id>
    wpnonce = extract(r'id="_wpnonce" name="_wpnonce" value="([0-9a-f]+)"', r.text, "_wpnonce")
    title = f"E2E classic form post {int(time.time())}"
    r = admin_session.post(
        f"{base}/wp-admin/post.php",
        data={
            "_wpnonce": wpnonce,
            "_wp_http_referer": "/wp-admin/post-new.php",
            "user_ID": "1",
            "action": "editpost",
            "originalaction": "editpost",
            "post_author": "1",
            "post_type": "post",
            "original_post_status": "auto-draft",
            "post_ID": str(post_id),
            "post_title": title,
            "content": "Classic form content through the bridge.",
            "publish": "Publish",
            "post_status": "publish",
            "visibility": "public",
        },
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert r.status_code == 302, r.text[:500]
    assert r.headers["Location"].startswith(f"{base}/wp-admin/post.php?post={post_id}&action=edit")
    r = requests.get(f"{base}/", timeout=TIMEOUT)
    assert title in r.text


def _post_id(page):
    """The auto-draft's id as the editor page carries it."""
    for pat in (r"<input type=['\"]hidden['\"] id=['\"]post_ID['\"] name=['\"]post_ID['\"] value=['\"](\d+)",
                r'"postId":(\d+)', r'initializeEditor\(\s*"editor",\s*"post",\s*(\d+)'):
        m = re.search(pat, page)
        if m:
            return int(m.group(1))
    raise AssertionError("post id not found in post-new.php")


def _png(width, height, seed):
    """A valid RGB PNG full of random bytes (incompressible: exercises binary bodies both ways)."""
    rnd = random.Random(seed)
    raw = b"".join(b"\x00" + bytes(rnd.getrandbits(8) for _ in range(width * 3)) for _ in range(height))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def test_upload_image_and_serve_it_static(admin_session, base, efs_root):
    r = admin_session.get(f"{base}/wp-admin/media-new.php", timeout=TIMEOUT)
    assert r.status_code == 200, (r.status_code, dict(r.headers), r.text[:300])
    media_nonce = extract(r'"_wpnonce":"([0-9a-f]+)"', r.text, "media-form nonce")

    png = _png(320, 200, seed=time.time())
    digest = hashlib.sha256(png).hexdigest()
    name = f"e2e-{digest[:12]}.png"
    r = admin_session.post(
        f"{base}/wp-admin/async-upload.php",
        data={"name": name, "action": "upload-attachment", "_wpnonce": media_nonce},
        files={"async-upload": (name, png, "image/png")},
        timeout=TIMEOUT,
    )
    assert r.status_code == 200, r.text[:500]
    body = r.json()
    assert body.get("success") is True, body
    url = body["data"]["url"]
    assert url.startswith(f"{base}/wp-content/uploads/"), url
    assert body["data"]["mime"] == "image/png"
    # GD made the thumbnail sizes (320x200 > 150x150)
    assert "thumbnail" in body["data"].get("sizes", {}), body["data"].get("sizes")

    # on the EFS root, byte-identical
    path = urlsplit(url).path
    on_disk = os.path.join(efs_root, path.lstrip("/"))
    with open(on_disk, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == digest

    # back through the bridge as a static file
    r = requests.get(url, timeout=TIMEOUT)
    assert r.status_code == 200, (r.status_code, dict(r.headers), r.text[:300])
    assert r.headers["Content-Type"] == "image/png"
    assert hashlib.sha256(r.content).hexdigest() == digest
    assert int(r.headers.get("Content-Length", len(r.content))) == len(png)
    cc = r.headers.get("Cache-Control", "")
    assert "max-age=" in cc and "no-store" not in cc, cc
    etag, last_modified = r.headers.get("ETag"), r.headers.get("Last-Modified")
    assert etag and last_modified, dict(r.headers)

    r = requests.get(url, headers={"If-None-Match": etag}, timeout=TIMEOUT)
    assert r.status_code == 304
    assert r.content == b""
    assert r.headers.get("ETag") == etag
    r = requests.get(url, headers={"If-Modified-Since": last_modified}, timeout=TIMEOUT)
    assert r.status_code == 304
    assert r.content == b""
    # a stale validator gets the full file again
    r = requests.get(url, headers={"If-None-Match": '"not-the-etag"'}, timeout=TIMEOUT)
    assert r.status_code == 200 and hashlib.sha256(r.content).hexdigest() == digest

    # and the attachment is known to WordPress (REST media endpoint)
    r = requests.get(f"{base}/wp-json/wp/v2/media/{body['data']['id']}", timeout=TIMEOUT)
    assert r.status_code == 200, (r.status_code, dict(r.headers), r.text[:300])
    assert r.json()["source_url"] == url
    assert html.unescape(r.json()["title"]["rendered"]).startswith("e2e-")
