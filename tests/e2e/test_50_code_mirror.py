"""The code mirror with real WordPress: PHP runs against each sandbox's local copy, and a plugin deleted
in wp-admin (WordPress's own delete_plugins(), which fires `deleted_plugin`) is gone from every sandbox
within the marker check interval (1 s): the shipped wp-config.php's hook rewrote the generation marker.
Two instances share the EFS root here: the plain one deletes, the one behind the origin secret must
see it too."""
import os
import re
import secrets
import time

import requests

from conftest import TIMEOUT

CHECK_S = 1.0 + 0.4   # LAMBDA_FPM_CODE_MIRROR_CHECK_MS (default) + margin
PLUGIN = "lfpm-e2e-mirror"


def _marker(efs_root):
    try:
        with open(os.path.join(efs_root, ".lambda-fpm", "code-generation")) as f:
            return f.read().strip()
    except FileNotFoundError:
        return ""


def _announce_outside_change(efs_root):
    path = os.path.join(efs_root, ".lambda-fpm", "code-generation")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(f"e2e-{secrets.token_hex(6)}\n")


def _probe(url, headers=None):
    return requests.get(url, headers=headers or {}, allow_redirects=False, timeout=TIMEOUT)


def test_plugin_deleted_in_wp_admin_is_gone_from_every_sandbox(admin_session, base, secret_base,
                                                               origin_secret, efs_root):
    plugin_dir = os.path.join(efs_root, "wp-content", "plugins", PLUGIN)
    os.makedirs(plugin_dir, exist_ok=True)
    with open(os.path.join(plugin_dir, f"{PLUGIN}.php"), "w") as f:
        f.write("<?php\n/*\n * Plugin Name: lambda-fpm e2e mirror probe\n */\n")
    with open(os.path.join(plugin_dir, "probe.php"), "w") as f:
        f.write("<?php echo 'probe ran from ', __FILE__;\n")
    # put there from outside WordPress: announced through the marker, as users are told to
    _announce_outside_change(efs_root)
    time.sleep(CHECK_S)
    secret = {"x-origin-secret": origin_secret}
    probe = f"/wp-content/plugins/{PLUGIN}/probe.php"
    assert _probe(f"{base}{probe}").status_code == 200
    # both sandboxes end up running it from their own refreshed copy (not from EFS)
    deadline = time.time() + 30
    while True:
        a, b = _probe(f"{base}{probe}"), _probe(f"{secret_base}{probe}", secret)
        assert a.status_code == 200 and b.status_code == 200, (a.status_code, b.status_code, a.text[:200])
        if efs_root not in a.text and efs_root not in b.text:
            break
        assert time.time() < deadline, ("still not on a refreshed copy", a.text, b.text)
        time.sleep(0.3)

    # delete it the way wp-admin's plugin screen does (admin-ajax.php, action delete-plugin)
    page = admin_session.get(f"{base}/wp-admin/plugins.php", timeout=TIMEOUT)
    assert page.status_code == 200, page.status_code
    assert PLUGIN in page.text, "the plugin is listed"
    m = re.search(r'"ajax_nonce":"([0-9a-f]+)"', page.text)
    assert m, "no updates nonce on plugins.php"
    before = _marker(efs_root)
    r = admin_session.post(f"{base}/wp-admin/admin-ajax.php", timeout=TIMEOUT, data={
        "action": "delete-plugin", "plugin": f"{PLUGIN}/{PLUGIN}.php", "slug": PLUGIN,
        "_ajax_nonce": m.group(1)})
    assert r.status_code == 200, (r.status_code, r.text[:300])
    assert r.json().get("success") is True, r.text[:500]
    assert not os.path.exists(plugin_dir), "deleted on EFS (the request ran on EFS, not on a copy)"
    after = _marker(efs_root)
    assert after != before and after.endswith("-php"), \
        f"the shipped wp-config.php's hook rewrote the marker ({before!r} -> {after!r})"

    # every sandbox stops running the deleted code within the check interval
    time.sleep(CHECK_S)
    assert _probe(f"{base}{probe}").status_code == 404
    assert _probe(f"{secret_base}{probe}", secret).status_code == 404
