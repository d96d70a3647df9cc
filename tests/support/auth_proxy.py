"""A basic-auth reverse proxy in front of a real Flink REST endpoint (127.0.0.1 only).

Flink's REST API has no authentication of its own; production clusters put it behind a
proxy that has. This stands in for that proxy so tests can prove what a wrong password
does: HTTP 401 from the proxy, and a clear error from the modules.
"""
from __future__ import annotations

import base64
import http.server
import threading
import urllib.error
import urllib.request


class BasicAuthProxy:
    def __init__(self, upstream: str, username: str, password: str):
        self.upstream = upstream.rstrip("/")
        expected = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _forward(self):
                if self.headers.get("Authorization") != expected:
                    body = b'{"errors": ["Unauthorized: bad or missing credentials"]}'
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="flink"')
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "authorization", "content-length", "connection")}
                req = urllib.request.Request(proxy.upstream + self.path, data=data, headers=headers,
                                             method=self.command)
                try:
                    with urllib.request.urlopen(req, timeout=120) as resp:
                        status, payload, ctype = resp.status, resp.read(), resp.headers.get("Content-Type")
                except urllib.error.HTTPError as exc:
                    status, payload, ctype = exc.code, exc.read(), exc.headers.get("Content-Type")
                self.send_response(status)
                self.send_header("Content-Type", ctype or "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
