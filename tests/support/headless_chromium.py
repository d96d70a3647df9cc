"""Open a page in a real headless Chromium (Debian's `chromium`) over the DevTools protocol: what
the console said, what JavaScript finds on the page once it is laid out, and a PNG screenshot.

    with HeadlessChromium() as browser:
        page = browser.open(pathlib.Path("report.html"))
        page.console_errors        # console errors, uncaught exceptions, failed loads
        page.evaluate("document.title")
        page.screenshot(path)      # the whole page, as a PNG file

Tests that use it are marked `browser` (tests/support/skip_policy.py: in CI a missing chromium
fails the run instead of skipping)."""
from __future__ import annotations

import base64
import itertools
import json
import pathlib
import shutil
import subprocess
import tempfile
import time
import urllib.request

import websocket

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def chromium_binary():
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


class Page:
    """One tab, driven over its DevTools websocket; events are collected as they arrive."""

    def __init__(self, ws_url, timeout):
        self._ws = websocket.create_connection(ws_url, timeout=timeout, suppress_origin=True)
        self._ids = itertools.count(1)
        self._timeout = timeout
        self.events = []
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(domain + ".enable")

    def call(self, method, **params):
        msg_id = next(self._ids)
        self._ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        deadline = time.monotonic() + self._timeout
        while time.monotonic() < deadline:
            msg = json.loads(self._ws.recv())
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise RuntimeError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)
        raise TimeoutError("no answer to %s in %ss" % (method, self._timeout))

    def wait_for_event(self, method):
        deadline = time.monotonic() + self._timeout
        while time.monotonic() < deadline:
            if any(e["method"] == method for e in self.events):
                return
            msg = json.loads(self._ws.recv())
            if "method" in msg:
                self.events.append(msg)
        raise TimeoutError("no %s in %ss" % (method, self._timeout))

    def navigate(self, url):
        self.events = []
        self.call("Page.navigate", url=url)
        self.wait_for_event("Page.loadEventFired")
        # a last round trip, so events sent during the load are read
        self.evaluate("1")

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError("%s: %s" % (expression, result["exceptionDetails"]))
        return result["result"].get("value")

    @property
    def console_errors(self):
        """Console errors and warnings, uncaught exceptions and failed loads, as text."""
        out = []
        for event in self.events:
            method, params = event["method"], event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "warning", "assert"):
                out.append("console.%s: %s" % (params["type"], " ".join(
                    str(a.get("value", a.get("description"))) for a in params.get("args", []))))
            elif method == "Runtime.exceptionThrown":
                out.append("exception: %s" % params.get("exceptionDetails", {}).get("text"))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") in ("error", "warning"):
                entry = params["entry"]
                out.append("%s %s: %s %s" % (entry.get("source"), entry["level"], entry.get("text"),
                                             entry.get("url", "")))
            elif method == "Network.loadingFailed":
                out.append("load failed: %s" % params.get("errorText"))
        return out

    def screenshot(self, path):
        """The whole page (not only the window) as a PNG file."""
        size = self.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                         clip={"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1})["data"]
        pathlib.Path(path).write_bytes(base64.b64decode(data))
        return pathlib.Path(path)

    def close(self):
        self._ws.close()


class HeadlessChromium:
    """A headless Chromium on a free DevTools port, with a profile of its own, stopped on exit."""

    def __init__(self, binary=None, timeout=30, window=(1280, 900)):
        self.binary = binary or chromium_binary()
        if not self.binary:
            raise FileNotFoundError("no chromium on PATH (Debian package chromium)")
        self.timeout = timeout
        self.window = window
        self._proc = None
        self._profile = None
        self._log = None
        self._pages = []

    def __enter__(self):
        self._profile = tempfile.mkdtemp(prefix="flinkops-chromium-")
        self._log = open(pathlib.Path(self._profile) / "chromium.log", "wb")  # pylint: disable=consider-using-with
        self._proc = subprocess.Popen(
            [self.binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
             "--remote-debugging-port=0", "--remote-allow-origins=*", "--user-data-dir=%s" % self._profile,
             "--window-size=%d,%d" % self.window, "about:blank"],
            # to a file, not a pipe: a pipe nobody reads would stop chromium once it is full
            stdout=subprocess.DEVNULL, stderr=self._log)
        port_file = pathlib.Path(self._profile) / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while not (port_file.exists() and port_file.read_text().strip()):
            if self._proc.poll() is not None:
                output = (pathlib.Path(self._profile) / "chromium.log").read_bytes().decode(errors="replace")[-2000:]
                raise RuntimeError("chromium exited with %s: %s" % (self._proc.returncode, output))
            if time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise TimeoutError("chromium did not open its DevTools port in %ss" % self.timeout)
            time.sleep(0.1)
        self.port = int(port_file.read_text().split()[0])
        return self

    def open(self, target):
        """A new tab showing ``target`` (a path or a URL), loaded."""
        url = str(target)
        if not url.startswith(("http:", "https:", "file:")):
            url = pathlib.Path(target).resolve().as_uri()
        req = urllib.request.Request("http://127.0.0.1:%d/json/new?about:blank" % self.port, method="PUT")
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:
            ws_url = json.load(resp)["webSocketDebuggerUrl"]
        page = Page(ws_url, self.timeout)
        self._pages.append(page)
        page.navigate(url)
        return page

    def __exit__(self, *exc):
        for page in self._pages:
            try:
                page.close()
            except OSError:
                pass
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(10)
        if self._log:
            self._log.close()
        if self._profile:
            shutil.rmtree(self._profile, ignore_errors=True)
        return False


def png_size(path):
    """Width and height of a PNG file, from its IHDR chunk."""
    data = pathlib.Path(path).read_bytes()[:24]
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("%s is not a PNG" % path)
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


__all__ = ["HeadlessChromium", "Page", "chromium_binary", "png_size"]
