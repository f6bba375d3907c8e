"""wp-admin as a site owner uses it, in a real browser, once per mode ([plain]: the bridge's own URL;
[cloudfront]: https://www.browser-public.example through the local CloudFront, the origin secret and the
forwarded headers). The scenarios run in file order within a mode; each logs in itself if it must.
Every one is also checked by the guard in conftest.py (console errors, failed requests, PHP warnings)."""
import hashlib
import os
import secrets
import struct
import time
import zipfile
import zlib
from urllib.parse import urlsplit

from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from conftest import Guard, clickable, ensure_logged_in, log_in, logged_in, settle, visible, wait
from php_log import findings

PLUGIN_DIR = "lambda-fpm-browser-marker"
PLUGIN = f"{PLUGIN_DIR}/lambda-fpm-browser-marker.php"
MARKER_PLUGIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "lambda-fpm-browser-marker.php")


def png(path, width, height, seed):
    """A real PNG of width x height (a colour gradient that depends on seed), written to path."""
    r0, g0 = seed[0], seed[1]
    rows = b"".join(b"\x00" + bytes((r0 + x) % 256 if i == 0 else (g0 + y) % 256 if i == 1 else 160
                                    for x in range(width) for i in range(3)) for y in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def fetch_sha256(driver, url):
    """The SHA-256 of url's body as the page itself fetches it (same cookies, same origin), and its headers."""
    return driver.execute_async_script("""
        const [url, done] = arguments;
        fetch(url, {credentials: 'same-origin', cache: 'no-store'}).then(async r => {
            const digest = await crypto.subtle.digest('SHA-256', await r.arrayBuffer());
            done({status: r.status, type: r.headers.get('content-type'), cache: r.headers.get('cache-control'),
                  sha256: [...new Uint8Array(digest)].map(b => b.toString(16).padStart(2, '0')).join('')});
        }).catch(e => done({error: String(e)}));""", url)


def assert_public(site, url):
    """In cloudfront mode WordPress's own URLs are the public https ones."""
    if site.mode == "cloudfront":
        assert url.startswith(site.base + "/"), f"not the public https URL: {url}"
    else:
        assert urlsplit(url).netloc == site.host, url


def test_guard_reports_what_breaks(driver, site):
    """The guard itself (its own instance, not the scenario fixture): a page whose script throws, whose
    stylesheet is missing and, in cloudfront mode, that loads from the origin is reported on each count."""
    driver.get(site.url("/"))
    g = Guard(driver, site)
    plain = os.environ["BROWSER_PLAIN_URL"].rstrip("/")
    driver.execute_script("""
        const css = document.createElement('link');
        css.rel = 'stylesheet'; css.href = arguments[0] + '/wp-content/lambda-fpm-guard-probe.css';
        document.head.appendChild(css);
        if (arguments[1]) { const img = new Image(); img.src = arguments[1] + '/wp-includes/images/w-logo-blue.png'; }
        setTimeout(() => { throw new Error('lambda-fpm guard probe'); }, 0);""",
        site.base, plain if site.mode == "cloudfront" else None)
    time.sleep(1.5)
    found = g.problems()
    assert any(f.startswith("HTTP 404 for GET ") and "lambda-fpm-guard-probe.css" in f for f in found), found
    assert any("javascript" in f and "lambda-fpm guard probe" in f for f in found), found
    if site.mode == "cloudfront":
        assert any(f.startswith("request to the origin") and "w-logo-blue.png" in f for f in found), found
    # what a scenario declares it wants is not a problem
    g2 = Guard(driver, site)
    g2.expect(404, r"lambda-fpm-guard-probe\.css$", "the probe")
    driver.execute_script("""
        const css = document.createElement('link');
        css.rel = 'stylesheet'; css.href = arguments[0] + '/wp-content/lambda-fpm-guard-probe.css';
        document.head.appendChild(css);""", site.base)
    time.sleep(1.5)
    assert g2.problems() == []


def test_php_log_classifier():
    """Which php-fpm log lines fail a scenario (tests/e2e/php_log.py), on lines of the shapes php-fpm
    writes and the bridge forwards."""
    efs, repo = "/efs/wordpress", "/repo"
    lines = [
        "2026-12-04T20:56:23Z  WARN php: [04-Dec-2026 20:56:23 UTC] PHP Warning:  Undefined variable $x in "
        "/efs/wordpress/wp-includes/post.php on line 12",
        "PHP Deprecated:  Creation of dynamic property in /efs/wordpress/wp-admin/includes/misc.php on line 3",
        "PHP Deprecated:  Old style in /efs/wordpress/wp-content/plugins/some/plugin.php on line 9",
        "PHP Fatal error:  Uncaught Error in /efs/wordpress/wp-content/themes/t/functions.php on line 1",
        "PHP Notice:  just a notice in /efs/wordpress/wp-includes/load.php on line 5",
        "PHP Warning:  wp_version_check(): An unexpected error occurred. Something may be wrong with "
        "WordPress.org or this server in /efs/wordpress/wp-includes/functions.php on line 6121",
        "PHP Warning:  ours in /opt/php/lambda-fpm/prepend.php on line 2",
        "an ordinary request log line",
    ]
    mine, others = findings(lines, efs, repo)
    assert [m.split(":")[0] for m in mine] == ["PHP Warning", "PHP Deprecated", "PHP Warning"], mine
    assert mine[0].endswith("/efs/wordpress/wp-includes/post.php:12") and "prepend.php" in mine[2]
    assert [o.split(":")[0] for o in others] == ["PHP Deprecated", "PHP Fatal error"], others


def test_log_in(driver, site, guard):
    driver.delete_all_cookies()
    driver.get(site.url("/wp-admin/"))
    # not logged in: wp-admin sends the browser to the login form, with the way back
    visible(driver, "#loginform")
    assert "/wp-login.php" in driver.current_url and "redirect_to=" in driver.current_url
    assert_public(site, driver.current_url)
    log_in(driver, site)
    assert "/wp-admin/" in driver.current_url
    assert visible(driver, "#wpbody-content h1").text == "Dashboard"
    assert logged_in(driver)
    auth = [c for c in driver.get_cookies() if c["name"].startswith("wordpress_logged_in_")]
    assert auth and auth[0]["httpOnly"]
    if site.mode == "cloudfront":
        # the viewer reached https: WordPress marks its cookies Secure (is_ssl() through X-Forwarded-Proto)
        assert all(c["secure"] for c in auth), auth
    settle(driver)


def test_block_editor_post_with_uploaded_image(driver, site, guard, tmp_path):
    ensure_logged_in(driver, site)
    title = f"Browser post {site.mode} {secrets.token_hex(3)}"
    text = f"A paragraph written in the block editor through the bridge ({site.mode})."
    image = tmp_path / f"editor-{site.mode}.png"
    digest = png(image, 96, 64, secrets.token_bytes(2))

    driver.get(site.url("/wp-admin/post-new.php"))
    # the editor is a React app: wait until its data stores have the new draft from the REST API
    wait(driver).until(lambda d: d.execute_script(
        "return !!(window.wp && wp.data && wp.data.select('core/editor') "
        "&& wp.data.select('core/editor').getCurrentPostId())"))
    # the first visit's welcome guide: closed as a user would, saved in the user's preferences (REST)
    driver.execute_script("wp.data.dispatch('core/preferences').set('core/edit-post', 'welcomeGuide', false)")
    canvas = visible(driver, 'iframe[name="editor-canvas"]')
    driver.switch_to.frame(canvas)
    try:
        t = clickable(driver, ".editor-post-title__input")
        t.click()
        t.send_keys(title)
        t.send_keys(Keys.ENTER)
        para = visible(driver, "p.wp-block-paragraph[contenteditable=true], p.block-editor-rich-text__editable")
        para.send_keys(text)
        para.send_keys(Keys.ENTER)
        # the slash inserter, as a user adds an image block
        active = driver.switch_to.active_element
        active.send_keys("/image")
        driver.switch_to.default_content()
        option = wait(driver).until(lambda d: next(
            (o for o in d.find_elements(By.CSS_SELECTOR, ".components-autocomplete__result")
             if o.text.strip() == "Image"), None))
        option.click()
        driver.switch_to.frame(canvas)
        upload = wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, ".wp-block-image input[type=file]"))
        upload.send_keys(str(image))
        # uploaded through the REST API (POST /wp/v2/media, multipart, nonce): the block swaps its blob: preview
        # for the attachment's URL once the upload is done
        img = wait(driver).until(lambda d: next(
            (i for i in d.find_elements(By.CSS_SELECTOR, ".wp-block-image img")
             if (i.get_attribute("src") or "").startswith("http")), None))
        src = img.get_attribute("src")
    finally:
        driver.switch_to.default_content()
    assert "/wp-content/uploads/" in src
    assert_public(site, src)

    clickable(driver, ".editor-post-publish-panel__toggle").click()
    clickable(driver, ".editor-post-publish-panel__header-publish-button button, "
                      ".editor-post-publish-panel__header-publish-button .editor-post-publish-button").click()
    wait(driver).until(lambda d: d.execute_script(
        "return wp.data.select('core/editor').isCurrentPostPublished() "
        "&& !wp.data.select('core/editor').isSavingPost()"))
    link = driver.execute_script("return wp.data.select('core/editor').getCurrentPost().link")
    assert_public(site, link)
    settle(driver)

    driver.get(link)
    h = visible(driver, "h1.wp-block-post-title, h1")
    assert h.text == title
    assert text in driver.find_element(By.TAG_NAME, "body").text
    fig = visible(driver, ".wp-block-image img")
    wait(driver).until(lambda d: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth",
                                                  fig) == 96)
    front_src = fig.get_attribute("src")
    assert_public(site, front_src)
    got = fetch_sha256(driver, front_src)
    assert got.get("status") == 200 and got.get("sha256") == digest, got
    # uploads are static files, served by the bridge with its cache policy, not by PHP
    assert got.get("type") == "image/png" and "max-age" in (got.get("cache") or ""), got


def test_media_library_upload(driver, site, guard, tmp_path):
    ensure_logged_in(driver, site)
    image = tmp_path / f"library-{site.mode}-{secrets.token_hex(3)}.png"
    digest = png(image, 120, 80, secrets.token_bytes(2))
    driver.get(site.url("/wp-admin/media-new.php"))
    visible(driver, "#drag-drop-area")
    # plupload's file input (what "Select Files" opens); the upload is a multipart POST to async-upload.php
    driver.find_element(By.CSS_SELECTOR, "#plupload-upload-ui input[type=file]").send_keys(str(image))
    button = wait(driver).until(lambda d: next(
        (b for b in d.find_elements(By.CSS_SELECTOR, "#media-items .copy-attachment-url")
         if b.get_attribute("data-clipboard-text")), None))
    url = button.get_attribute("data-clipboard-text")
    assert url.endswith("/" + image.name), url
    assert_public(site, url)
    got = fetch_sha256(driver, url)
    assert got.get("status") == 200 and got.get("sha256") == digest, got

    # and it is in the library's grid (the media modal's app, attachments from admin-ajax.php)
    driver.get(site.url("/wp-admin/upload.php?mode=grid"))
    wait(driver).until(lambda d: any(
        image.stem in (li.get_attribute("aria-label") or "")
        for li in d.find_elements(By.CSS_SELECTOR, ".attachments-browser li.attachment")))
    settle(driver)


def test_media_library_drag_and_drop(driver, site, guard, tmp_path):
    """The library's drop zone: a file dragged from the desktop onto the grid uploads. The drag is the
    browser's own (DevTools' Input.dispatchDragEvent with a file from disk, what a desktop drag delivers),
    so plupload's html5 runtime reads it as it reads a real one (file entries, not a script's DataTransfer)."""
    ensure_logged_in(driver, site)
    image = tmp_path / f"dropped-{site.mode}-{secrets.token_hex(3)}.png"
    digest = png(image, 40, 30, secrets.token_bytes(2))
    driver.get(site.url("/wp-admin/upload.php?mode=grid"))
    zone = visible(driver, ".attachments-browser")
    settle(driver)
    box = driver.execute_script("const r = arguments[0].getBoundingClientRect();"
                                "return [r.left + r.width / 2, r.top + r.height / 2]", zone)
    data = {"items": [], "files": [str(image)], "dragOperationsMask": 1}
    # a hand moving over the window: dragover repeats while the library's drop overlay fades in, and
    # the drop lands on the overlay (one dragover only, and the overlay's own dragenter hides it again)
    for i, kind in enumerate(["dragEnter"] + ["dragOver"] * 8 + ["drop"]):
        driver.execute_cdp_cmd("Input.dispatchDragEvent",
                               {"type": kind, "x": box[0] + i, "y": box[1], "data": data})
        time.sleep(0.1)
    li = wait(driver).until(lambda d: next(
        (x for x in d.find_elements(By.CSS_SELECTOR, ".attachments-browser li.attachment")
         if image.stem in (x.get_attribute("aria-label") or "")
         and "uploading" not in (x.get_attribute("class") or "")), None))
    li.click()
    field = visible(driver, ".attachment-details-copy-link, #attachment-details-two-column-copy-link")
    url = field.get_attribute("value")
    assert url.endswith("/" + image.name), url
    assert_public(site, url)
    got = fetch_sha256(driver, url)
    assert got.get("status") == 200 and got.get("sha256") == digest, got
    driver.find_element(By.CSS_SELECTOR, ".media-modal-close").click()
    settle(driver)


def test_settings_site_title(driver, site, guard):
    ensure_logged_in(driver, site)
    title = f"Browser site {site.mode} {secrets.token_hex(3)}"
    driver.get(site.url("/wp-admin/options-general.php"))
    name = visible(driver, "#blogname")
    name.clear()
    name.send_keys(title)
    driver.find_element(By.CSS_SELECTOR, "#submit").click()
    visible(driver, "#setting-error-settings_updated")
    assert driver.find_element(By.CSS_SELECTOR, "#blogname").get_attribute("value") == title
    assert driver.find_element(By.CSS_SELECTOR, "#wp-admin-bar-site-name > a").text == title
    driver.get(site.url("/"))
    visible(driver, "body")
    assert title in driver.title
    settle(driver)


def test_site_editor_styles_save(driver, site, guard):
    """The site editor (the active theme, Twenty Twenty-Five, is a block theme): change the site's
    background colour in Styles, save it with the editor's Save button, see it on the front end."""
    ensure_logged_in(driver, site)
    colour = "#%02x%02x%02x" % tuple(secrets.token_bytes(3))
    driver.get(site.url("/wp-admin/site-editor.php"))
    wait(driver).until(lambda d: d.execute_script(
        "return !!(window.wp && wp.data && wp.data.select('core') "
        "&& wp.data.select('core').__experimentalGetCurrentGlobalStylesId())"))
    visible(driver, 'iframe[name="editor-canvas"]')
    settle(driver)
    # the edit the Styles panel's colour picker makes: the user's global styles record gets a background
    driver.execute_script("""
        const id = wp.data.select('core').__experimentalGetCurrentGlobalStylesId();
        const rec = wp.data.select('core').getEditedEntityRecord('root', 'globalStyles', id);
        const styles = Object.assign({}, rec.styles || {});
        styles.color = Object.assign({}, styles.color || {}, {background: arguments[0]});
        wp.data.dispatch('core').editEntityRecord('root', 'globalStyles', id, {styles});""", colour)
    clickable(driver, ".edit-site-save-button__button, .editor-header .editor-entities-saved-states__button,"
                      " button.edit-site-save-hub__button, .edit-site-save-hub button").click()
    # the saved-states panel lists what changes; its Save button writes them (REST POST to global-styles)
    try:
        clickable(driver, ".editor-entities-saved-states__save-button", timeout=10).click()
    except TimeoutException:
        pass  # a single-entity save may go straight through
    wait(driver).until(lambda d: d.execute_script(
        "const id = wp.data.select('core').__experimentalGetCurrentGlobalStylesId();"
        "return !wp.data.select('core').hasEditsForEntityRecord('root', 'globalStyles', id)"
        " && !wp.data.select('core').isSavingEntityRecord('root', 'globalStyles', id)"))
    settle(driver)
    driver.get(site.url("/"))
    visible(driver, "body")
    bg = driver.execute_script("return getComputedStyle(document.body).backgroundColor")
    want = "rgb(%d, %d, %d)" % tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    assert bg == want, (bg, colour)


def test_plugin_upload_activate_deactivate_delete(driver, site, guard, tmp_path):
    """A plugin's life in wp-admin: uploaded as a zip (Plugins > Add New > Upload), activated, seen on the
    front end, deactivated, deleted. Installing and deleting change code: they run on EFS and rewrite the
    code mirror's generation marker, so the next requests (this sandbox and the others) run the new code."""
    ensure_logged_in(driver, site)
    archive = tmp_path / "lambda-fpm-browser-marker.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(MARKER_PLUGIN, f"{PLUGIN_DIR}/{os.path.basename(MARKER_PLUGIN)}")
    row = f'tr[data-plugin="{PLUGIN}"]'

    driver.get(site.url("/wp-admin/plugin-install.php?tab=upload"))
    visible(driver, ".upload-plugin-wrap, .upload-plugin")
    driver.find_element(By.CSS_SELECTOR, "#pluginzip").send_keys(str(archive))
    driver.find_element(By.CSS_SELECTOR, "#install-plugin-submit").click()
    activate = wait(driver).until(lambda d: next(
        (a for a in d.find_elements(By.CSS_SELECTOR, ".wrap a.button-primary")
         if "action=activate" in (a.get_attribute("href") or "")), None))
    assert "Plugin installed successfully." in driver.find_element(By.CSS_SELECTOR, ".wrap").text
    assert_public(site, activate.get_attribute("href"))
    activate.click()
    visible(driver, "#message")
    assert "Plugin activated." in driver.find_element(By.CSS_SELECTOR, "#message").text
    assert driver.find_elements(By.CSS_SELECTOR, f"{row}.active")
    driver.get(site.url("/"))
    visible(driver, "#lambda-fpm-browser-marker")

    driver.get(site.url("/wp-admin/plugins.php"))
    clickable(driver, f"{row} .deactivate a").click()
    visible(driver, "#message")
    assert "Plugin deactivated." in driver.find_element(By.CSS_SELECTOR, "#message").text
    assert driver.find_elements(By.CSS_SELECTOR, f"{row}.inactive")
    driver.get(site.url("/"))
    visible(driver, "body")
    assert not driver.find_elements(By.CSS_SELECTOR, "#lambda-fpm-browser-marker")

    # Delete: a confirm() dialog, then admin-ajax.php's delete-plugin; the row goes away
    driver.get(site.url("/wp-admin/plugins.php"))
    clickable(driver, f"{row} .delete a").click()
    wait(driver).until(lambda d: d.switch_to.alert).accept()
    wait(driver).until(lambda d: not d.find_elements(By.CSS_SELECTOR, row)
                       or "deleted" in (d.find_element(By.CSS_SELECTOR, row).get_attribute("class") or ""))
    driver.get(site.url("/wp-admin/plugins.php"))
    visible(driver, "#the-list")
    assert not driver.find_elements(By.CSS_SELECTOR, row)
    assert not os.path.exists(os.path.join(os.environ["BROWSER_EFS_ROOT"], "wp-content", "plugins", PLUGIN_DIR))
    settle(driver)


def test_log_out(driver, site, guard):
    ensure_logged_in(driver, site)
    driver.get(site.url("/wp-admin/"))
    logout = driver.find_element(By.CSS_SELECTOR, "#wp-admin-bar-logout a").get_attribute("href")
    assert_public(site, logout)
    # the admin bar's menu opens on hover; following its link is the same request
    driver.get(logout)
    msg = visible(driver, "#login-message, .notice.notice-info.message, .message")
    assert "logged out" in msg.text
    assert not logged_in(driver)
    driver.get(site.url("/wp-admin/"))
    visible(driver, "#loginform")
    assert "/wp-login.php" in driver.current_url
    settle(driver)

