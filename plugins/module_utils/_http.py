# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""FOR INTERNAL COLLECTION USE ONLY.

The one HTTP transport of the collection. Nothing else imports ``requests``:
every REST client (Flink, CMF, Confluent Cloud) sits on top of ``HttpClient``.

Rules kept here, once:
* TLS verification is on unless the caller turns it off; ``ca_path`` adds a CA bundle.
* Authentication: basic (username/password), bearer token, client certificate.
* Retries with capped, jittered exponential backoff, only where a repeat is safe:
  idempotent methods (GET, HEAD, PUT, DELETE, OPTIONS) and calls the caller marks
  ``idempotent=True`` (a POST that carries a client-chosen trigger id or job id).
  Retried: connection errors, timeouts, 429, 502, 503, 504. Never retried: 500 and
  every other 4xx, which are answers, not accidents. A 429 is retried whatever the method:
  the server refused the request without acting on it (Confluent Cloud's rate limits).
  ``Retry-After`` (seconds or an HTTP date) sets the wait before the next attempt.
* One error type, ``HttpError``, naming the method, URL, HTTP status and the server's
  own message.
* Credentials never leave in a message: user info in a URL (``https://user:pass@host``) is
  taken out of the base URL (it becomes basic authentication) and redacted from every
  ``HttpError`` text, URL and server message (``redact_url``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import random
import re
import time
from email.utils import parsedate_tz, mktime_tz

from ansible_collections.flinkops.cookbook.plugins.module_utils._errors import OpsError

try:
    from urllib.parse import unquote, urlsplit, urlunsplit
except ImportError:  # pragma: no cover - Python 2
    from urllib import unquote
    from urlparse import urlsplit, urlunsplit

try:
    import requests
    from requests.adapters import HTTPAdapter

    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by the module
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = exc

IDEMPOTENT_METHODS = frozenset(("GET", "HEAD", "PUT", "DELETE", "OPTIONS"))
RETRY_STATUSES = frozenset((429, 502, 503, 504))
MAX_MESSAGE_CHARS = 1500
REDACTED = "********"
# scheme://userinfo@ : the userinfo part (anything up to the last '@' before the host) is a secret.
_USERINFO_RE = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^\s/?#@]*(?:@[^\s/?#@]*)*@")


def redact_url(text):
    """``text`` with the user info of every URL in it replaced: ``https://********@host/x``."""
    if text is None:
        return None
    return _USERINFO_RE.sub(r"\1%s@" % REDACTED, str(text))


def split_userinfo(url):
    """``(url without user info, username or None, password or None)``, percent-decoded."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None, None
    userinfo, host = parts.netloc.rsplit("@", 1)
    user, _sep, password = userinfo.partition(":")
    clean = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return clean, unquote(user) or None, unquote(password) if _sep else None


class HttpError(OpsError):
    """A failed HTTP exchange: transport error (status None) or an error status.

    The URL and the message are redacted (``redact_url``): an error never carries credentials.
    Its ``details`` are the exchange (``http``), as the module result shows it."""

    def __init__(self, method, url, status=None, message="", body=None):
        self.method = method
        url = redact_url(url)
        message = redact_url(message) if message else message
        self.url = url
        self.status = status
        self.server_message = message
        self.body = body
        if status is None:
            text = "%s %s failed: %s" % (method, url, message)
        else:
            text = "%s %s returned HTTP %s: %s" % (method, url, status, message or "(no message)")
        super(HttpError, self).__init__(text)
        self.details = {"http": self.to_dict()}

    def to_dict(self):
        return {
            "method": self.method,
            "url": self.url,
            "status": self.status,
            "message": self.server_message,
        }


def server_message(response):
    """The server's own words from an error response, shortened for humans.

    Flink answers ``{"errors": [...]}`` (the second entry is often a Java stack
    trace: only its first lines are kept); CMF and Confluent Cloud answer
    ``{"errors": [{"detail": ...}]}`` or ``{"message": ...}``.
    """
    try:
        data = response.json()
    except ValueError:
        return (response.text or "").strip()[:MAX_MESSAGE_CHARS]
    parts = []
    if isinstance(data, dict):
        errors = data.get("errors")
        if isinstance(errors, list):
            for item in errors:
                if isinstance(item, dict):
                    item = item.get("detail") or item.get("message") or item.get("title") or json.dumps(item)
                parts.append(_trim_trace(str(item)))
        for key in ("message", "error", "detail", "title"):
            if not parts and data.get(key):
                parts.append(str(data[key]))
    if not parts:
        parts.append(json.dumps(data)[:MAX_MESSAGE_CHARS])
    return " | ".join(p for p in parts if p)[:MAX_MESSAGE_CHARS]


def _trim_trace(text):
    """Keep the exception lines of a Java stack trace, drop the ``at ...`` frames."""
    lines = [ln.strip() for ln in text.splitlines()]
    kept = [ln for ln in lines if ln and not ln.startswith("at ") and not ln.startswith("...")]
    return " / ".join(kept[:6])


def retry_after_seconds(value, now):
    """A ``Retry-After`` header as seconds from ``now``: delta-seconds (``"7"``) or an HTTP date
    (``"Wed, 21 Oct 2026 07:28:00 GMT"``); None when absent or unreadable. Never negative."""
    if value is None:
        return None
    text = str(value).strip()
    if text.isdigit():
        return float(text)
    parsed = parsedate_tz(text)
    if parsed is None:
        return None
    return max(0.0, float(mktime_tz(parsed)) - float(now))


def parse_version(text):
    """A server's version string as a comparable tuple: '2.3.1' -> (2, 3, 1); unknown parts are 0."""
    nums = []
    for part in re.split(r"[.\-+]", str(text or ""))[:3]:
        nums.append(int(part) if part.isdigit() else 0)
    while len(nums) < 3:
        nums.append(0)
    return tuple(nums)


class HttpClient(object):
    """A small session wrapper: base URL, auth, TLS, timeouts, retries."""

    @classmethod
    def from_params(cls, params, url_key, **kwargs):
        """Built from a module's connection options (see module_utils/_module.connection_args)."""
        return cls(params[url_key], username=params.get("username"), password=params.get("password"),
                   token=params.get("token"), client_cert=params.get("client_cert"),
                   client_key=params.get("client_key"), validate_certs=params.get("validate_certs", True),
                   ca_path=params.get("ca_path"), timeout=params.get("request_timeout", 30),
                   retries=params.get("retries", 3), **kwargs)

    def __init__(self, base_url, username=None, password=None, token=None,
                 client_cert=None, client_key=None, validate_certs=True, ca_path=None,
                 timeout=30, retries=3, backoff=0.5, max_backoff=8.0, headers=None,
                 sleep=time.sleep, failover_timeout=0, transient=None, now=time.time):
        if not HAS_REQUESTS:
            raise HttpError("-", base_url, None, "the Python library 'requests' is required")
        # User info in the URL is authentication, not part of the address: it is used as basic
        # auth (unless a token or username is given) and kept out of every URL this client shows.
        base_url, url_user, url_password = split_userinfo(base_url)
        if url_user is not None and username is None and not token:
            username, password = url_user, url_password
        # for the module's no_log_values: a password given in the URL is as secret as the option
        self.url_password = url_password
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries = max(0, int(retries))
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._sleep = sleep
        self._now = now
        # A server that fails over (a JobManager leader change) answers 503, some 500s that the
        # API's client names with ``transient(status, message)``, or refuses connections for a
        # while: retryable calls keep retrying through that for up to ``failover_timeout`` s.
        self.failover_timeout = max(0, failover_timeout or 0)
        self.transient = transient
        # Refused connections count as a failover only once this server has answered: a wrong
        # URL or a server that is down fails after the plain retries, not after the window.
        self.answered = False
        # One window per outage, shared by every request of this client: a server that stays
        # down fails the run after failover_timeout in all, not after that much per request.
        self.outage_since = None
        self.session = requests.Session()
        # Retries are ours: the adapter must not retry behind our back.
        adapter = HTTPAdapter(max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.verify = (ca_path or True) if validate_certs else False
        if client_cert:
            self.session.cert = (client_cert, client_key) if client_key else client_cert
        if token:
            self.session.headers["Authorization"] = "Bearer %s" % token
        elif username is not None:
            self.session.auth = (username, password or "")
        self.session.headers["Accept"] = "application/json"
        if headers:
            self.session.headers.update(headers)

    def url(self, path):
        if path.startswith("http://") or path.startswith("https://"):
            return split_userinfo(path)[0]
        return "%s/%s" % (self.base_url, path.lstrip("/"))

    def _delay(self, attempt, response=None):
        if response is not None:
            wait = retry_after_seconds(response.headers.get("Retry-After"), self._now())
            if wait is not None:
                return min(wait, self.max_backoff * 4)
        base = min(self.max_backoff, self.backoff * (2 ** attempt))
        return base / 2 + random.uniform(0, base / 2)

    def request(self, method, path, json_body=None, params=None, files=None,
                idempotent=None, ok=(200, 201, 202, 204), timeout=None, data=None, headers=None):
        """Send one request; return the decoded JSON body (or ``None`` when empty).

        Raises ``HttpError`` for transport errors and for statuses outside ``ok``.
        """
        method = method.upper()
        url = self.url(path)
        retryable = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        # a 429 is retried whatever the method (the server did not act on the request)
        attempts = self.retries + 1
        deadline = (self.outage_since or self._now()) + self.failover_timeout if retryable else 0
        last_error = None
        attempt = 0
        while attempt < attempts or (last_error is not None and self._now() < deadline
                                     and (self.answered or last_error.status is not None)):
            if attempt:
                delay = self._delay(min(attempt - 1, 4), getattr(last_error, "response", None))
                if attempt >= attempts:
                    # riding through a failover: the last attempt is at the window's end, never after it
                    delay = min(delay, max(0.0, deadline - self._now()))
                self._sleep(delay)
            attempt += 1
            try:
                # verify= is passed explicitly: requests would otherwise let REQUESTS_CA_BUNDLE
                # override ca_path, and even re-enable checks that validate_certs turned off.
                response = self.session.request(
                    method, url, json=json_body, params=params, files=files, data=data, headers=headers,
                    timeout=timeout or self.timeout, verify=self.session.verify)
            except requests.exceptions.SSLError as exc:
                # A certificate problem does not heal by retrying.
                raise HttpError(method, url, None, "TLS error: %s" % exc)
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                    requests.exceptions.ChunkedEncodingError) as exc:
                last_error = HttpError(method, url, None, "%s: %s" % (type(exc).__name__, exc))
                last_error.response = None
                if not retryable:
                    break
                self.outage_since = self.outage_since or self._now()
                continue
            except requests.exceptions.RequestException as exc:
                raise HttpError(method, url, None, "%s: %s" % (type(exc).__name__, exc))
            self.answered = True
            if response.status_code in ok:
                self.outage_since = None
                return _decode(response)
            error = HttpError(method, url, response.status_code, server_message(response),
                              body=_decode_quiet(response))
            error.response = response
            transient = response.status_code in RETRY_STATUSES or bool(
                self.transient and self.transient(response.status_code, error.server_message))
            if transient and (retryable or response.status_code == 429):
                last_error = error
                if not retryable:
                    continue
                self.outage_since = self.outage_since or self._now()
                continue
            raise error
        if attempt > 1:
            last_error.args = ("%s (after %d attempts)" % (last_error.args[0], attempt),)
        raise last_error

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, json_body=None, **kwargs):
        return self.request("POST", path, json_body=json_body, **kwargs)

    def put(self, path, json_body=None, **kwargs):
        return self.request("PUT", path, json_body=json_body, **kwargs)

    def patch(self, path, json_body=None, **kwargs):
        return self.request("PATCH", path, json_body=json_body, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)

    def get_or_none(self, path, **kwargs):
        """GET; ``None`` when the resource does not exist (404)."""
        try:
            return self.get(path, **kwargs)
        except HttpError as exc:
            if exc.status == 404:
                return None
            raise

    def delete_quiet(self, path, **kwargs):
        """DELETE; ``False`` when it was already gone (404)."""
        try:
            self.delete(path, **kwargs)
        except HttpError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def close(self):
        self.session.close()


def _decode(response):
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


def _decode_quiet(response):
    try:
        return _decode(response)
    except Exception:  # pragma: no cover - defensive
        return None
