#!/usr/bin/env python3
"""Writes the hand-made starting inputs of each fuzz target into fuzz/seeds/<target>/.

The fuzzers grow their corpora from these (FUZZING.md); the minimised corpora kept in
fuzz/corpus/ descend from them. Input layouts are the ones src/fuzz.rs documents per target.
Run: python3 fuzz/seeds.py (stdlib only; rewrites fuzz/seeds/).
"""

import io
import json
import shutil
import tarfile
import zipfile
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
REPO = FUZZ.parent
OUT = FUZZ / "seeds"


def write(target, name, data):
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def events():
    for f in sorted((REPO / "tests" / "events").glob("*.json")):
        write("event", f.stem, f.read_bytes())
    extra = {
        "envelope": {"lambda_fpm": {"cron": {"host": "example.org"}}},
        "v2-stage": {"version": "2.0", "rawPath": "/prod/wp-admin/", "rawQueryString": "a=1",
                     "requestContext": {"stage": "prod", "http": {"method": "get"}},
                     "cookies": ["a=b"], "body": "aGk=", "isBase64Encoded": True},
        "v1-multi-query": {"httpMethod": "GET", "path": "/index.php", "requestContext": {},
                           "multiValueQueryStringParameters": {"a": ["1", "2"], "b c": ["%"]}},
        "alb-encoded-query": {"httpMethod": "GET", "path": "/wp-json/", "requestContext": {"elb": {}},
                              "queryStringParameters": {"rest_route": "%2Fwp%2Fv2"}},
        "not-an-event": [1, 2, 3],
    }
    for name, e in extra.items():
        write("event", name, json.dumps(e))


def envelopes():
    for name, e in {
        "php": {"php": {"args": ["-r", "echo 1;"], "timeout_ms": 1000, "max_output_bytes": 4096}},
        "install": {"install": {"url": "https://wordpress.org/latest.zip?x=1", "sha256": "0" * 64}},
        "install-s3": {"install": {"url": "s3://bucket/key.tar.gz", "force": True}},
        "install-user": {"install": {"url": "https://u:p@example.org/a.zip"}},
        "install-loopback": {"install": {"url": "http://127.0.0.1:8080/a.zip"}},
        "cron": {"cron": {"host": "example.org:8443"}},
        "warm": {"warm": {"paths": ["/", "/wp-login.php?x=1"]}},
        "unknown": {"nope": {}},
        "two": {"cron": {}, "warm": {}},
    }.items():
        write("envelope", name, json.dumps(e))
    write("envelope", "text", '{"lambda_fpm": {"php": {"args": ["x"]}}}')


def routing():
    paths = [
        "/", "/index.php", "/wp-admin", "/wp-admin/", "/wp-admin/admin-ajax.php/x/y/",
        "/wp-content/uploads/2024/", "/wp-content/uploads/2024/shell.php",
        "/wp-content/uploads/2024/photo.jpg", "/wp-content/uploads/2024/.user.ini",
        "/%2e%2e/etc/passwd", "/a/..%2f..%2fetc", "/.git/config", "/.well-known/security.txt",
        "/wp-config.php", "/WP-CONFIG.PHP.bak", "/backup.sql.gz", "/wp-content/debug.log",
        "/index.php.bak", "/index.phtml", "/x.%70hp", "/dir/", "/dir", "/html/", "/escape/x",
        "/wp-content/uploads-link/a.php", "/sample-page/", "/%C3%A9t%C3%A9/", "//double//slash",
        "/wp-content/themes/t/style.css", "/wp-content/themes/t/", "/empty-dir/", "/%00",
        "/a\\b", "/wp-login.php%00.jpg", "/wp-%63ontent/uploads/2024/index.php",
        "/notes.txt", "/conf.txt", "/env.txt", "/alias.php", "/img.php", "/media/2024/shell.php",
        "/media/2024/", "/theme/style.css", "/latest.css",
    ]
    for i, p in enumerate(paths):
        write("routing", f"path{i:02}", f"{p}\nq=1\n\x55\xaa\x0f")


def cgi():
    samples = {
        "plain": b"Content-Type: text/html\r\n\r\n<p>hi</p>",
        "status": b"Status: 404 Not Found\nContent-type: text/plain\n\nmissing",
        "location": b"Location: /x\r\n\r\n",
        "cookies": b"Set-Cookie: a=1\r\nSet-Cookie: b=2; HttpOnly\r\nX-A: 1\r\nX-A: 2\r\n\r\nbody",
        "smuggle": b"X-A: a\rInjected: 1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello",
        "binary": b"Content-Type: image/png\r\nContent-Encoding: gzip\r\n\r\n\x89PNG\x00\xff",
        "bad-status": b"Status: abc\r\n\r\n",
        "obs-text": b"X-Name: caf\xe9\r\nX-Tab: a\tb\r\n\r\n",
        "no-end": b"Content-Type: text/html\r\n",
    }
    for name, data in samples.items():
        write("cgi_response", name, data)


def conditional():
    etag = '"3e8-6553f1000000000"'  # not the target's tag: the fuzzer finds that one
    cases = {
        "range": (1000, ["", "", "bytes=0-99", ""]),
        "suffix": (1000, ["", "", "bytes=-10", ""]),
        "open": (1000, ["", "", "bytes=990-", ""]),
        "multi": (1000, ["", "", "bytes=0-1,5-6", ""]),
        "unsat": (1000, ["", "", "bytes=2000-3000", ""]),
        "inm": (1000, [etag, "", "", ""]),
        "inm-star": (10, ["*", "Tue, 14 Nov 2023 22:13:20 GMT", "", ""]),
        "ims": (10, ["", "Tue, 14 Nov 2023 22:13:20 GMT", "", ""]),
        "if-range-date": (1000, ["", "", "bytes=0-0", "Tue, 14 Nov 2023 22:13:20 GMT"]),
        "if-range-tag": (1000, ["", "", "bytes=0-0", etag]),
        "empty-file": (0, ["", "", "bytes=0-0", ""]),
    }
    for name, (size, fields) in cases.items():
        write("conditional", name, size.to_bytes(2, "little") + "\n".join(fields).encode())


def tar_bytes(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        for m in members:
            info = tarfile.TarInfo(m["name"])
            info.type = m.get("type", tarfile.REGTYPE)
            info.linkname = m.get("link", "")
            info.mode = m.get("mode", 0o644)
            data = m.get("data", b"")
            info.size = len(data) if info.type == tarfile.REGTYPE else 0
            t.addfile(info, io.BytesIO(data) if info.type == tarfile.REGTYPE else None)
    return buf.getvalue()


def archives():
    wp = [
        {"name": "wordpress", "type": tarfile.DIRTYPE, "mode": 0o777},
        {"name": "wordpress/index.php", "data": b"<?php echo 1;"},
        {"name": "wordpress/wp-includes/version.php", "data": b"<?php $v = 1;", "mode": 0o4755},
        {"name": "wordpress/link", "type": tarfile.SYMTYPE, "link": "wp-includes/version.php"},
    ]
    evil = {
        "dotdot": [{"name": "../evil", "data": b"x"}],
        "absolute": [{"name": "/tmp/evil", "data": b"x"}],
        "link-out": [{"name": "a", "type": tarfile.SYMTYPE, "link": "../../etc"}],
        "through-link": [{"name": "a", "type": tarfile.SYMTYPE, "link": "."},
                         {"name": "a/b", "data": b"x"}],
        "hardlink": [{"name": "f", "data": b"x"}, {"name": "h", "type": tarfile.LNKTYPE, "link": "f"}],
        "fifo": [{"name": "p", "type": tarfile.FIFOTYPE}],
        "chain": [{"name": "d/x", "data": b"x"}, {"name": "l1", "type": tarfile.SYMTYPE, "link": "d"},
                  {"name": "l2", "type": tarfile.SYMTYPE, "link": "l1/x"}],
        "duplicate": [{"name": "f", "data": b"1"}, {"name": "f", "data": b"2"}],
    }
    write("archive", "tar-wordpress", b"\x00" + tar_bytes(wp))
    write("archive", "targz-wordpress", b"\x01" + tar_bytes(wp))
    for name, members in evil.items():
        write("archive", f"tar-{name}", b"\x00" + tar_bytes(members))
    for name, entries in {
        "wordpress": [("wordpress/", None), ("wordpress/index.php", b"<?php"), ("wordpress/a/b.txt", b"b")],
        "dotdot": [("../x", b"x")],
        "backslash": [("a\\b", b"x")],
    }.items():
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for n, data in entries:
                if data is None:
                    z.writestr(zipfile.ZipInfo(n), b"")
                else:
                    z.writestr(n, data)
        write("archive", f"zip-{name}", b"\x00" + buf.getvalue())
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        info = zipfile.ZipInfo("link")
        info.external_attr = (0o120777 << 16)
        z.writestr(info, "../outside")
        info = zipfile.ZipInfo("dev")
        info.external_attr = (0o020644 << 16)
        z.writestr(info, "")
    write("archive", "zip-special", b"\x00" + buf.getvalue())


def seeds():
    cache = [
        {"name": "0123abcd", "type": tarfile.DIRTYPE},
        {"name": "0123abcd/var/task/index.php.bin", "data": b"OPCACHE" + bytes(64)},
        {"name": "0123abcd/var/task/wp-load.php.bin", "data": b"OPCACHE" + bytes(16)},
    ]
    for mode in range(4):
        write("seed", f"cache-mode{mode}", bytes([mode]) + tar_bytes(cache))
    write("seed", "symlink", b"\x01" + tar_bytes([{"name": "l", "type": tarfile.SYMTYPE, "link": "/etc"}]))
    write("seed", "dotdot", b"\x01" + tar_bytes([{"name": "../x.bin", "data": b"x"}]))
    write("seed", "raw-garbage", b"\x00\x28\xb5\x2f\xfd garbage")


if __name__ == "__main__":
    shutil.rmtree(OUT, ignore_errors=True)
    for make in (events, envelopes, routing, cgi, conditional, archives, seeds):
        make()
    print(f"seeds written under {OUT.relative_to(REPO)}")
