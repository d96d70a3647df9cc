# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""FOR INTERNAL COLLECTION USE ONLY.

Probe a checkpoint or savepoint directory the way Flink uses it (cookbook recipe 7.2, step 2:
"attempt a small write/read manually to the checkpoint directory"): write a small object,
read it back and compare, delete it, and check that it is gone. Every step is timed.

Backends: ``s3://``, ``s3a://`` and ``s3p://`` through boto3; ``file://``, ``file:/`` (the form
Flink reports) and absolute paths through plain file I/O. The probe object is always
deleted, also after a failed read, so a probe leaves nothing behind.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import time
import uuid

from ansible_collections.flinkops.cookbook.plugins.module_utils._errors import ProbeError

try:
    import boto3
    import botocore.config
    import botocore.exceptions

    HAS_BOTO3 = True
    BOTO3_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by the module
    HAS_BOTO3 = False
    BOTO3_IMPORT_ERROR = exc

S3_SCHEMES = ("s3", "s3a", "s3p")
PROBE_PREFIX = ".flinkops-probe-"
STEPS = ("write", "read", "delete", "verify_deleted")


def parse_uri(uri):
    """``(scheme, location, prefix)``: ``s3://b/p`` -> ``("s3", "b", "p")``, ``/d`` -> ``("file", "/d", "")``."""
    text = str(uri or "").strip()
    match = re.match(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):(.*)$", text)
    if not match:
        if not text.startswith("/"):
            raise ProbeError(text, "parse", "not an absolute path or URI (use file:///dir, /dir or s3://bucket/dir)")
        return "file", os.path.normpath(text), ""
    scheme, rest = match.group(1).lower(), match.group(2)
    if scheme == "file":
        # file:///d, file:/d (Flink's own form) and file://localhost/d
        path = re.sub(r"^//(localhost)?(?=/)", "", rest)
        if not path.startswith("/") or path.startswith("//"):
            raise ProbeError(text, "parse", "a file URI needs an absolute path (file:///dir)")
        return "file", os.path.normpath(path), ""
    if scheme in S3_SCHEMES:
        bucket_match = re.match(r"^//([^/]+)/*(.*)$", rest)
        if not bucket_match:
            raise ProbeError(text, "parse", "an S3 URI needs a bucket (s3://bucket/dir)")
        return scheme, bucket_match.group(1), bucket_match.group(2).strip("/")
    raise ProbeError(text, "parse", "scheme %r is not supported (s3, s3a, s3p, file)" % scheme)


def plan(uri, size):
    """What a probe does, without doing it (check mode)."""
    scheme, location, prefix = parse_uri(uri)
    name = PROBE_PREFIX + "<random>"
    target = ("%s://%s/%s" % (scheme, location, "/".join(p for p in (prefix, name) if p))
              if scheme in S3_SCHEMES else os.path.join(location, name))
    return {"uri": uri, "backend": "s3" if scheme in S3_SCHEMES else "file", "object": target,
            "steps": ["write %d bytes to %s" % (size, target), "read them back and compare",
                      "delete the object", "check that it is gone"]}


def _payload(size):
    head = ("flinkops storage probe %s\n" % uuid.uuid4().hex).encode("ascii")
    return (head * (size // len(head) + 1))[:size]


class _Timer(object):
    def __init__(self, now=time.monotonic):
        self.now = now
        self.latencies = {}

    def step(self, name, fn):
        start = self.now()
        try:
            return fn()
        finally:
            self.latencies[name] = round((self.now() - start) * 1000.0, 2)


# -- file ------------------------------------------------------------------------------------
def _file_cause(exc):
    return "%s: %s" % (type(exc).__name__, exc.strerror or exc) if isinstance(exc, OSError) else str(exc)


def probe_file(uri, directory, size=1024, now=time.monotonic):
    timer = _Timer(now)
    payload = _payload(size)
    target = os.path.join(directory, PROBE_PREFIX + uuid.uuid4().hex)
    if not os.path.isdir(directory):
        what = "is not a directory" if os.path.exists(directory) else "does not exist"
        raise ProbeError(uri, "write", "%s %s" % (directory, what), object=target)

    def write():
        # O_EXCL: never overwrite anything that is already there.
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())

    def read():
        with open(target, "rb") as handle:
            return handle.read()

    try:
        timer.step("write", write)
    except OSError as exc:
        raise ProbeError(uri, "write", _file_cause(exc), object=target)
    try:
        try:
            data = timer.step("read", read)
        except OSError as exc:
            raise ProbeError(uri, "read", _file_cause(exc), object=target)
        if data != payload:
            raise ProbeError(uri, "read", "read back %d bytes that differ from the %d written" % (len(data), size),
                             object=target)
    finally:
        try:
            timer.step("delete", lambda: os.unlink(target))
        except OSError as exc:
            if os.path.exists(target):
                raise ProbeError(uri, "delete", "%s; the probe object %s was left behind" % (_file_cause(exc), target),
                                 object=target)
    gone = timer.step("verify_deleted", lambda: not os.path.exists(target))
    if not gone:
        raise ProbeError(uri, "verify_deleted", "%s still exists after delete" % target, object=target)
    return {"object": target, "bytes": size, "latency_ms": timer.latencies}


# -- S3 --------------------------------------------------------------------------------------
def s3_client(region=None, endpoint_url=None, access_key=None, secret_key=None, session_token=None,
              validate_certs=True, timeout=10, path_style=False):
    if not HAS_BOTO3:
        raise ProbeError("-", "connect", "the Python libraries boto3 and botocore are required")
    config = botocore.config.Config(
        connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 2, "mode": "standard"},
        s3={"addressing_style": "path" if path_style else "auto"})
    return boto3.session.Session().client(
        "s3", region_name=region, endpoint_url=endpoint_url, aws_access_key_id=access_key,
        aws_secret_access_key=secret_key, aws_session_token=session_token, verify=validate_certs, config=config)


def _s3_cause(exc):
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error") or {}
        status = (exc.response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        return "%s (HTTP %s): %s" % (error.get("Code", "ClientError"), status, error.get("Message") or exc)
    return "%s: %s" % (type(exc).__name__, exc)


def probe_s3(uri, client, bucket, prefix, size=1024, now=time.monotonic):
    timer = _Timer(now)
    payload = _payload(size)
    key = "/".join(p for p in (prefix, PROBE_PREFIX + uuid.uuid4().hex) if p)
    target = "s3://%s/%s" % (bucket, key)
    errors = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)

    def read():
        return client.get_object(Bucket=bucket, Key=key)["Body"].read()

    def gone():
        try:
            client.head_object(Bucket=bucket, Key=key)
        except botocore.exceptions.ClientError as exc:
            if str((exc.response.get("Error") or {}).get("Code")) in ("404", "NoSuchKey", "NotFound"):
                return True
            raise
        return False

    try:
        timer.step("write", lambda: client.put_object(Bucket=bucket, Key=key, Body=payload))
    except errors as exc:
        raise ProbeError(uri, "write", _s3_cause(exc), object=target)
    try:
        try:
            data = timer.step("read", read)
        except errors as exc:
            raise ProbeError(uri, "read", _s3_cause(exc), object=target)
        if data != payload:
            raise ProbeError(uri, "read", "read back %d bytes that differ from the %d written" % (len(data), size),
                             object=target)
    finally:
        try:
            timer.step("delete", lambda: client.delete_object(Bucket=bucket, Key=key))
        except errors as exc:
            raise ProbeError(uri, "delete", "%s; the probe object %s may be left behind" % (_s3_cause(exc), target),
                             object=target)
    try:
        deleted = timer.step("verify_deleted", gone)
    except errors as exc:
        raise ProbeError(uri, "verify_deleted", _s3_cause(exc), object=target)
    if not deleted:
        raise ProbeError(uri, "verify_deleted", "%s still exists after delete" % target, object=target)
    return {"object": target, "bytes": size, "latency_ms": timer.latencies}


def probe(uri, size=1024, s3_options=None, now=time.monotonic):
    """Probe ``uri``; return ``{uri, backend, object, bytes, latency_ms}`` or raise ``ProbeError``."""
    scheme, location, prefix = parse_uri(uri)
    if scheme in S3_SCHEMES:
        try:
            client = s3_client(**(s3_options or {}))
        except ProbeError as exc:
            raise ProbeError(uri, exc.step, exc.cause)
        except Exception as exc:  # botocore raises several types for a bad configuration
            raise ProbeError(uri, "connect", "%s: %s" % (type(exc).__name__, exc))
        result = probe_s3(uri, client, location, prefix, size=size, now=now)
        backend = "s3"
    else:
        result = probe_file(uri, location, size=size, now=now)
        backend = "file"
    result.update(uri=uri, backend=backend)
    result["latency_ms"]["total"] = round(sum(result["latency_ms"].values()), 2)
    return result
