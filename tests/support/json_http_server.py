"""The HTTP side shared by the fakes (fake_cmf, fake_confluent_cloud, fake_awx): a
``ThreadingHTTPServer`` on 127.0.0.1, on a free port, in a daemon thread, that hands every request to
the fake's ``handle(method, path, body, headers)`` and writes what it answers, ``(status, payload,
headers)``: ``payload`` is None (no body), a JSON value, or ``(bytes, content type)``.

A fake mixes ``JsonHttpServer`` in, sets ``thread_name``, and gets ``start()``, ``stop()`` and ``url``.
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class JsonHttpServer:
    thread_name = "fake"
    _server = None
    _thread = None

    def start(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, payload, headers = fake.handle(self.command, self.path, body, dict(self.headers.items()))
                if isinstance(payload, tuple):
                    data, ctype = payload
                else:
                    data, ctype = (b"" if payload is None else json.dumps(payload).encode()), "application/json"
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                if data:
                    self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if data:
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return "http://%s:%s" % (host, port)
