"""A local stand-in for the CloudFront distribution terraform/ builds, for the browser suite.

It does to each viewer request what the distribution does before the request reaches the Function URL:
  - the viewer-request function (terraform/functions/viewer-request.js): X-Forwarded-Host := the viewer's
    Host, X-Viewer-Address := the viewer's IP, both overwriting whatever the client sent;
  - the origin request policy: every viewer header except Host is forwarded; Host is the origin's;
  - CloudFront itself: X-Forwarded-Proto: https (viewers reach it on https only), and the origin's custom
    header (terraform's origin_secret_header, x-origin-secret) with the secret.
It terminates TLS with a throwaway self-signed certificate (the browser is started with
--ignore-certificate-errors and a host-resolver rule that maps the public name here) and forwards over
plain HTTP to the origin, as CloudFront does to a Function URL (there over TLS). Bodies pass through
unchanged; hop-by-hop headers are not forwarded either way. Caching is not modelled: the suite tests
what WordPress and the bridge do, and CloudFront's cache would only hide requests from them.

    python3 front.py --listen 127.0.0.1:9443 --origin 127.0.0.1:9321 --secret-file F --cert C --key K
"""
import argparse
import http.client
import http.server
import socketserver
import ssl
import sys

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "proxy-connection"}
OVERWRITTEN = {"host", "x-forwarded-host", "x-viewer-address", "x-forwarded-proto", "x-forwarded-for"}


class Front(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    origin = None
    secret_header = "x-origin-secret"
    secret = ""
    timeout = 120

    def log_message(self, fmt, *args):  # one line per request on stderr, like an access log
        sys.stderr.write("front: %s %s\n" % (self.address_string(), fmt % args))

    def _forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP | OVERWRITTEN
                   and k.lower() != self.secret_header]
        viewer_host = self.headers.get("Host", "")
        headers += [("Host", self.origin), ("X-Forwarded-Host", viewer_host),
                    ("X-Viewer-Address", self.client_address[0]), ("X-Forwarded-Proto", "https"),
                    ("X-Forwarded-For", self.client_address[0]), (self.secret_header, self.secret)]
        conn = http.client.HTTPConnection(self.origin, timeout=self.timeout)
        try:
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for k, v in headers:
                conn.putheader(k, v)
            conn.endheaders(body)
            resp = conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException) as e:
            self.log_message("origin error: %r", e)
            self.send_error(502, "origin unreachable")
            return
        finally:
            conn.close()
        self.send_response_only(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                self.send_header(k, v)
        if self.command != "HEAD" and resp.status not in (204, 304):
            self.send_header("Content-Length", str(len(data)))
        elif resp.getheader("Content-Length"):
            self.send_header("Content-Length", resp.getheader("Content-Length"))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.log_request(resp.status, len(data))

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _forward


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    tls = None

    def finish_request(self, request, client_address):
        # the TLS handshake happens in the connection's own thread, never in the accept loop
        try:
            request = self.tls.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError) as e:
            sys.stderr.write(f"front: TLS handshake with {client_address[0]} failed: {e}\n")
            return
        super().finish_request(request, client_address)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--origin", required=True, help="host:port of the origin (the bridge's Function URL)")
    ap.add_argument("--secret-file", required=True)
    ap.add_argument("--secret-header", default="x-origin-secret")
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    a = ap.parse_args()
    Front.origin = a.origin
    Front.secret_header = a.secret_header.lower()
    with open(a.secret_file) as f:
        Front.secret = f.read().strip()
    host, port = a.listen.rsplit(":", 1)
    srv = Server((host, int(port)), Front)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(a.cert, a.key)
    srv.tls = ctx
    sys.stderr.write(f"front: https://{a.listen} -> http://{a.origin}\n")
    sys.stderr.flush()
    srv.serve_forever()


if __name__ == "__main__":
    main()
