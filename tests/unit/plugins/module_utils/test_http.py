"""_http.HttpClient, HttpError and server_message: retries, errors, TLS and auth."""
from __future__ import annotations

import base64
import json
import socket

import pytest
import requests

from ansible_collections.flinkops.cookbook.plugins.module_utils._http import (
    HttpClient, HttpError, redact_url, server_message, split_userinfo)
from fake_flink import BASE, connection_error

UNAVAILABLE = (503, {"errors": ["Service temporarily unavailable due to an ongoing leader election."]})
FLINK_TRACE = (
    "org.apache.flink.runtime.rest.handler.RestHandlerException: Could not execute application.\n"
    "\tat org.apache.flink.runtime.webmonitor.handlers.JarRunHandler.lambda$handleRequest$1(JarRunHandler.java:114)\n"
    "\tat java.base/java.util.concurrent.CompletableFuture.uniHandle(CompletableFuture.java:930)\n"
    "\t... 7 more\n"
    "Caused by: java.lang.ClassNotFoundException: com.example.Missing\n"
    "\tat java.base/java.net.URLClassLoader.findClass(URLClassLoader.java:445)\n")


# -- retries ----------------------------------------------------------------------------
def test_get_is_retried_on_503_until_it_succeeds(flink):
    flink.on("GET", "/overview", UNAVAILABLE, UNAVAILABLE, {"taskmanagers": 1})
    sleeps = []
    http = flink.http(retries=3, sleep=sleeps.append)

    assert http.get("/overview") == {"taskmanagers": 1}
    assert len(flink.calls_to("GET", "/overview")) == 3
    assert len(sleeps) == 2


def test_get_gives_up_after_the_configured_retries(flink):
    flink.on("GET", "/overview", UNAVAILABLE)
    with pytest.raises(HttpError) as info:
        flink.http(retries=2).get("/overview")
    assert info.value.status == 503
    assert len(flink.calls_to("GET", "/overview")) == 3


def test_post_is_not_retried_on_503(flink):
    flink.on("POST", "/jars/x.jar/run", UNAVAILABLE, {"jobid": "0" * 32})
    with pytest.raises(HttpError) as info:
        flink.http(retries=3).post("/jars/x.jar/run", json_body={})
    assert info.value.status == 503
    assert len(flink.calls_to("POST", "/jars/x.jar/run")) == 1


def test_post_is_not_retried_on_connection_error(flink):
    flink.on("POST", "/jars/x.jar/run", connection_error(), {"jobid": "0" * 32})
    with pytest.raises(HttpError) as info:
        flink.http(retries=3).post("/jars/x.jar/run", json_body={})
    assert info.value.status is None
    assert len(flink.calls_to("POST", "/jars/x.jar/run")) == 1


def test_idempotent_post_is_retried_on_connection_error(flink):
    flink.on("POST", "/jobs/[0-9a-f]{32}/savepoints", connection_error(), {"request-id": "1" * 32})
    http = flink.http(retries=3)

    assert http.post("/jobs/%s/savepoints" % ("a" * 32), json_body={}, idempotent=True) == {"request-id": "1" * 32}
    assert len(flink.calls_to("POST", "/jobs/[0-9a-f]{32}/savepoints")) == 2


def test_read_timeout_is_retried_for_get(flink):
    flink.on("GET", "/config", requests.exceptions.ReadTimeout("read timed out"), {"flink-version": "2.3.0"})
    assert flink.http(retries=1).get("/config") == {"flink-version": "2.3.0"}


def test_500_is_never_retried(flink):
    flink.on("GET", "/overview", (500, {"errors": ["Internal server error."]}), {"taskmanagers": 1})
    with pytest.raises(HttpError) as info:
        flink.http(retries=3).get("/overview")
    assert info.value.status == 500
    assert len(flink.calls_to("GET", "/overview")) == 1


LEADER_GONE = (500, {"errors": [
    "org.apache.flink.runtime.rpc.exceptions.RecipientUnreachableException: Could not send message "
    "[LocalFencedMessage(...)] from sender [unknown] to recipient [pekko.tcp://flink@127.0.0.1:6123/user/rpc/dispatcher_1]"]})


class FakeClock(object):
    def __init__(self):
        self.t = 1000.0

    def now(self):
        return self.t

    def sleep(self, seconds):
        self.t += seconds


def test_a_leader_change_is_ridden_through_beyond_the_retries_within_the_failover_window(flink):
    """A JobManager failing over answers 503 and RPC 500s for longer than three retries last."""
    from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_rest import leader_change
    clock = FakeClock()
    flink.on("GET", "/jobs/overview", *([LEADER_GONE, UNAVAILABLE, connection_error()] * 4 + [{"jobs": []}]))
    # 12 jittered backoffs take 36 to 72 s: a 90 s window holds them whatever the jitter (with 60 s,
    # about one run in thirty waited past the window: CI of stop 21)
    http = flink.http(retries=3, sleep=clock.sleep, now=clock.now, failover_timeout=90, transient=leader_change)
    assert http.get("/jobs/overview") == {"jobs": []}
    assert len(flink.calls_to("GET", "/jobs/overview")) == 13
    assert clock.t - 1000.0 <= 90


def test_the_failover_window_is_bounded(flink):
    from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_rest import leader_change
    clock = FakeClock()
    flink.on("GET", "/jobs/overview", LEADER_GONE)
    http = flink.http(retries=3, sleep=clock.sleep, now=clock.now, failover_timeout=30, transient=leader_change)
    with pytest.raises(HttpError, match="RecipientUnreachableException.*after \\d+ attempts"):
        http.get("/jobs/overview")
    assert clock.t - 1000.0 == pytest.approx(30), "the last attempt is at the end of the window, never after it"


@pytest.mark.parametrize("jitter", ["low", "high"])
def test_a_backoff_longer_than_what_is_left_of_the_window_is_cut_to_its_end(flink, monkeypatch, jitter):
    from ansible_collections.flinkops.cookbook.plugins.module_utils import _http
    from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_rest import leader_change
    monkeypatch.setattr(_http.random, "uniform", (lambda a, b: a) if jitter == "low" else (lambda a, b: b))
    clock = FakeClock()
    flink.on("GET", "/jobs/overview", LEADER_GONE)
    http = flink.http(retries=3, sleep=clock.sleep, now=clock.now, failover_timeout=21, transient=leader_change)
    with pytest.raises(HttpError):
        http.get("/jobs/overview")
    assert clock.t - 1000.0 == pytest.approx(21)


def test_one_outage_has_one_window_for_all_requests(flink):
    """A server that stays down fails the run after the window in all, not after a window per request."""
    from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_rest import leader_change
    clock = FakeClock()
    flink.on("GET", "/jobs/overview", {"jobs": []}, connection_error())
    http = flink.http(retries=1, sleep=clock.sleep, now=clock.now, failover_timeout=30, transient=leader_change)
    http.get("/jobs/overview")
    for _request in range(3):
        with pytest.raises(HttpError):
            http.get("/jobs/overview")
    assert clock.t - 1000.0 < 45, "the three failing requests shared one 30 s window"


def test_a_server_that_never_answered_fails_after_the_plain_retries_not_the_window(flink):
    clock = FakeClock()
    flink.on("GET", "/overview", connection_error())
    http = flink.http(retries=2, sleep=clock.sleep, now=clock.now, failover_timeout=120)
    with pytest.raises(HttpError):
        http.get("/overview")
    assert len(flink.calls_to("GET", "/overview")) == 3 and clock.t - 1000.0 < 10


def test_a_500_that_is_no_leader_change_is_raised_at_once_even_with_a_failover_window(flink):
    from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_rest import leader_change
    flink.on("GET", "/jobs/overview", (500, {"errors": ["java.lang.NullPointerException"]}))
    http = flink.http(retries=3, failover_timeout=60, transient=leader_change)
    with pytest.raises(HttpError):
        http.get("/jobs/overview")
    assert len(flink.calls_to("GET", "/jobs/overview")) == 1


def test_a_leader_change_never_repeats_a_plain_post(flink):
    from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_rest import leader_change
    flink.on("POST", "/jars/x.jar/run", LEADER_GONE, {"jobid": "0" * 32})
    http = flink.http(retries=3, failover_timeout=60, transient=leader_change)
    with pytest.raises(HttpError):
        http.post("/jars/x.jar/run", json_body={})
    assert len(flink.calls_to("POST", "/jars/x.jar/run")) == 1


def test_4xx_is_never_retried(flink):
    flink.on("GET", "/jobs/overview", (400, {"errors": ["Bad request."]}), {"jobs": []})
    with pytest.raises(HttpError):
        flink.http(retries=3).get("/jobs/overview")
    assert len(flink.calls) == 1


def test_retry_after_header_sets_the_delay(flink):
    flink.on("GET", "/overview", (429, {"errors": ["slow down"]}, {"Retry-After": "7"}), {"taskmanagers": 1})
    sleeps = []
    flink.http(retries=1, sleep=sleeps.append).get("/overview")
    assert sleeps == [7.0]


def test_backoff_grows_and_is_capped():
    http = HttpClient(BASE, backoff=1.0, max_backoff=4.0)
    for attempt, cap in ((0, 1.0), (1, 2.0), (2, 4.0), (5, 4.0)):
        delay = http._delay(attempt)
        assert cap / 2 <= delay <= cap


# -- error messages ---------------------------------------------------------------------
def test_error_names_method_url_status_and_flink_errors_without_stack_frames(flink):
    flink.on("POST", "/jars/x.jar/run", (400, {"errors": ["Could not execute application.", FLINK_TRACE]}))
    with pytest.raises(HttpError) as info:
        flink.http().post("/jars/x.jar/run", json_body={})
    text = str(info.value)

    assert "POST" in text and BASE + "/jars/x.jar/run" in text and "HTTP 400" in text
    assert "Could not execute application." in text
    assert "RestHandlerException" in text and "ClassNotFoundException: com.example.Missing" in text
    assert "JarRunHandler.java" not in text and "at java.base" not in text and "7 more" not in text
    assert info.value.to_dict() == {"method": "POST", "url": BASE + "/jars/x.jar/run", "status": 400,
                                    "message": info.value.server_message}


def test_error_body_is_kept_for_callers(flink):
    flink.on("GET", "/jobs/overview", (404, {"errors": ["Not found"]}))
    with pytest.raises(HttpError) as info:
        flink.http().get("/jobs/overview")
    assert info.value.body == {"errors": ["Not found"]}


@pytest.mark.parametrize("body, expected", [
    ({"errors": [{"detail": "compute pool not found"}]}, "compute pool not found"),
    ({"errors": [{"title": "Forbidden"}]}, "Forbidden"),
    ({"message": "token expired"}, "token expired"),
    ({"errors": ["a", "b"]}, "a | b"),
    ({"unexpected": 1}, '{"unexpected": 1}'),
])
def test_server_message_understands_the_usual_error_shapes(body, expected):
    response = requests.Response()
    response._content = json.dumps(body).encode()
    assert server_message(response) == expected


def test_server_message_of_a_non_json_body_is_its_text():
    response = requests.Response()
    response._content = b"  <html>502 Bad Gateway</html>\n"
    assert server_message(response) == "<html>502 Bad Gateway</html>"


def test_connection_refused_is_an_http_error_without_status_naming_the_url(monkeypatch):
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = "http://127.0.0.1:%d" % port
    http = HttpClient(url, retries=1, timeout=2, sleep=lambda s: None)

    with pytest.raises(HttpError) as info:
        http.get("/overview")
    assert info.value.status is None
    assert url + "/overview" in str(info.value)
    assert "after 2 attempts" in str(info.value)


def test_every_transport_failure_becomes_an_http_error(flink):
    flink.on("GET", "/overview", requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead"))
    try:
        flink.http(retries=0).get("/overview")
        error = None
    except Exception as exc:
        error = exc
    assert isinstance(error, HttpError) and error.status is None


# -- TLS and authentication -------------------------------------------------------------
def test_certificates_are_verified_by_default():
    assert HttpClient("https://flink.test").session.verify is True


def test_ca_path_is_the_bundle_used_to_verify(flink):
    http = flink.http(ca_path="/etc/pki/flink-ca.pem")
    http.get("/config")
    assert http.session.verify == "/etc/pki/flink-ca.pem"
    assert flink.calls[0].request.req_kwargs["verify"] == "/etc/pki/flink-ca.pem"


def test_validate_certs_false_turns_verification_off(flink):
    http = flink.http(validate_certs=False, ca_path="/etc/pki/flink-ca.pem")
    http.get("/config")
    assert flink.calls[0].request.req_kwargs["verify"] is False


def test_ca_path_wins_over_requests_ca_bundle_from_the_environment(flink, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/some/other/bundle.pem")
    flink.http(ca_path="/etc/pki/flink-ca.pem").get("/config")
    assert flink.calls[0].request.req_kwargs["verify"] == "/etc/pki/flink-ca.pem"


def test_validate_certs_false_wins_over_requests_ca_bundle_from_the_environment(flink, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/some/other/bundle.pem")
    flink.http(validate_certs=False).get("/config")
    assert flink.calls[0].request.req_kwargs["verify"] is False


def test_client_certificate_with_key(flink):
    http = flink.http(client_cert="/c.pem", client_key="/k.pem")
    http.get("/config")
    assert flink.calls[0].request.req_kwargs["cert"] == ("/c.pem", "/k.pem")


def test_basic_auth_header(flink):
    flink.http(username="ops", password="s3cret").get("/config")
    expected = "Basic " + base64.b64encode(b"ops:s3cret").decode()
    assert flink.calls[0].request.headers["Authorization"] == expected


def test_bearer_token_header(flink):
    flink.http(token="abc.def").get("/config")
    assert flink.calls[0].request.headers["Authorization"] == "Bearer abc.def"


def test_no_credentials_no_authorization_header(flink):
    flink.http().get("/config")
    assert "Authorization" not in flink.calls[0].request.headers
    assert flink.calls[0].request.headers["Accept"] == "application/json"


# -- bodies -----------------------------------------------------------------------------
def test_empty_body_decodes_to_none(flink):
    flink.on("PATCH", "/jobs/[0-9a-f]{32}", (202, None))
    assert flink.http().patch("/jobs/%s" % ("a" * 32), params={"mode": "cancel"}) is None


def test_absolute_urls_are_used_as_given():
    http = HttpClient(BASE + "/")
    assert http.url("/jobs") == BASE + "/jobs"
    assert http.url("https://elsewhere.test/x") == "https://elsewhere.test/x"


# -- credentials never appear in a message ------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("https://ops:s3cret@flink.test:8443/v1/jobs", "https://********@flink.test:8443/v1/jobs"),
    ("GET http://ops@flink.test/x failed", "GET http://********@flink.test/x failed"),
    ("a p@ss with @ inside: https://ops:p@ss@flink.test/x", "a p@ss with @ inside: https://********@flink.test/x"),
    ("two: http://a:b@h1/x and s3://key:secret@bucket/sp", "two: http://********@h1/x and s3://********@bucket/sp"),
    ("no user info: http://flink.test/x?next=a@b and mail ops@example.com",
     "no user info: http://flink.test/x?next=a@b and mail ops@example.com"),
    (None, None),
])
def test_redact_url(text, expected):
    assert redact_url(text) == expected


def test_split_userinfo_decodes_and_keeps_the_rest_of_the_url():
    expected = ("https://flink.test:8443/v1?x=1", "ops", "s3cr@t")
    assert split_userinfo("https://ops:s3cr%40t@flink.test:8443/v1?x=1") == expected
    assert split_userinfo("https://ops@flink.test") == ("https://flink.test", "ops", None)
    assert split_userinfo(BASE) == (BASE, None, None)


def test_user_info_in_the_base_url_is_basic_auth_and_never_part_of_a_url(flink):
    flink.on("GET", "/jobs/overview", (500, {"errors": ["boom at http://ops:s3cret@flink.test:8081/jobs"]}))
    http = HttpClient(BASE.replace("http://", "http://ops:s3cret@"), retries=0, sleep=lambda s: None)
    assert http.base_url == BASE and http.url_password == "s3cret"
    http.get("/config")
    assert flink.calls[0].request.headers["Authorization"] == "Basic " + base64.b64encode(b"ops:s3cret").decode()
    assert "ops" not in flink.calls[0].request.url
    with pytest.raises(HttpError) as info:
        http.get("/jobs/overview")
    for text in (str(info.value), json.dumps(info.value.to_dict())):
        assert "s3cret" not in text and "ops:" not in text
    assert info.value.url == BASE + "/jobs/overview"
    assert "http://********@flink.test:8081/jobs" in info.value.server_message


def test_an_explicit_username_wins_over_the_url_user_info(flink):
    http = HttpClient(BASE.replace("http://", "http://url-user:url-pass@"), username="ops", password="pw",
                      sleep=lambda s: None)
    http.get("/config")
    assert flink.calls[0].request.headers["Authorization"] == "Basic " + base64.b64encode(b"ops:pw").decode()
    assert http.base_url == BASE


def test_a_transport_error_of_a_url_with_user_info_shows_no_credential(monkeypatch):
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    http = HttpClient("http://ops:s3cret@127.0.0.1:%d/" % port, retries=0, timeout=2)
    with pytest.raises(HttpError) as info:
        http.get("/overview")
    assert "s3cret" not in str(info.value) and "ops" not in str(info.value)
    assert "http://127.0.0.1:%d/overview" % port in str(info.value)


def test_an_http_error_built_from_any_url_is_redacted():
    error = HttpError("GET", "https://ops:s3cret@flink.test/x", None, "ConnectionError: https://ops:s3cret@flink.test")
    assert "s3cret" not in str(error) and "s3cret" not in json.dumps(error.to_dict())
    assert "https://********@flink.test/x" in str(error)


# -- 429 and Retry-After (Confluent Cloud's rate limits) ---------------------------------
def test_retry_after_as_an_http_date_sets_the_delay(flink):
    now = 1796083200.0  # Tue, 01 Dec 2026 00:00:00 GMT
    flink.on("GET", "/overview", (429, {"errors": ["slow down"]}, {"Retry-After": "Tue, 01 Dec 2026 00:00:05 GMT"}),
             {"taskmanagers": 1})
    sleeps = []
    flink.http(retries=1, sleep=sleeps.append, now=lambda: now).get("/overview")
    assert sleeps == [5.0]


def test_retry_after_in_the_past_or_unreadable_waits_no_more_than_backoff():
    from ansible_collections.flinkops.cookbook.plugins.module_utils._http import retry_after_seconds
    assert retry_after_seconds("Tue, 01 Dec 2026 00:00:00 GMT", 1796083300.0) == 0.0
    assert retry_after_seconds("soon", 0) is None
    assert retry_after_seconds(None, 0) is None
    assert retry_after_seconds("12", 0) == 12.0


def test_a_429_is_retried_even_for_a_post_since_the_server_did_not_act(flink):
    flink.on("POST", "/jars/x.jar/run", (429, {"errors": ["rate limited"]}, {"Retry-After": "2"}), {"jobid": "0" * 32})
    sleeps = []
    assert flink.http(retries=3, sleep=sleeps.append).post("/jars/x.jar/run", json_body={}) == {"jobid": "0" * 32}
    assert len(flink.calls_to("POST", "/jars/x.jar/run")) == 2 and sleeps == [2.0]


def test_a_post_rate_limited_every_time_gives_up_after_the_retries_naming_the_429(flink):
    flink.on("POST", "/jars/x.jar/run", (429, {"errors": ["rate limited"]}, {"Retry-After": "1"}))
    with pytest.raises(HttpError) as info:
        flink.http(retries=2, sleep=lambda s: None).post("/jars/x.jar/run", json_body={})
    assert info.value.status == 429 and "rate limited" in str(info.value) and "after 3 attempts" in str(info.value)


def test_get_or_none_and_delete_quiet_treat_404_as_absent_and_raise_the_rest():
    import responses as rsps_lib
    from ansible_collections.flinkops.cookbook.plugins.module_utils._http import HttpClient, HttpError

    with rsps_lib.RequestsMock() as rsps:
        rsps.add(rsps_lib.GET, "http://api.test/things/a", status=404, json={"message": "no such thing"})
        rsps.add(rsps_lib.GET, "http://api.test/things/b", json={"name": "b"})
        rsps.add(rsps_lib.DELETE, "http://api.test/things/a", status=404, json={"message": "no such thing"})
        rsps.add(rsps_lib.DELETE, "http://api.test/things/b", status=204)
        rsps.add(rsps_lib.GET, "http://api.test/things/c", status=403, json={"message": "forbidden"})
        client = HttpClient("http://api.test", retries=0)
        assert client.get_or_none("/things/a") is None
        assert client.get_or_none("/things/b") == {"name": "b"}
        assert client.delete_quiet("/things/a") is False
        assert client.delete_quiet("/things/b") is True
        try:
            client.get_or_none("/things/c")
        except HttpError as exc:
            assert exc.status == 403
        else:
            raise AssertionError("a 403 is not an absent resource")
