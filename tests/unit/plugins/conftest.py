"""Fixtures shared by the plugin unit tests: a real moto S3 server on 127.0.0.1 (one per session)."""
from __future__ import annotations

import ctypes
import pathlib
import signal
import socket
import subprocess
import sys
import time

import pytest

boto3 = pytest.importorskip("boto3")
DUMMY_S3 = {"access_key": "testing", "secret_key": "testing", "region": "us-east-1"}


def _die_with_the_test_process():
    """Runs in the child before exec: the kernel sends it SIGTERM when the test process ends, however
    it ends (ansible-test units can end its pytest workers without their session teardown)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def moto_url():
    binary = pathlib.Path(sys.executable).with_name("moto_server")
    if not binary.exists():
        pytest.skip("moto_server is not installed in this venv (pip install 'moto[server]')")
    port = free_port()
    proc = subprocess.Popen([str(binary), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=_die_with_the_test_process)  # pylint: disable=subprocess-popen-preexec-fn
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("moto_server did not start on port %d" % port)
                time.sleep(0.1)
        yield "http://127.0.0.1:%d" % port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def s3(moto_url):
    client = boto3.client("s3", endpoint_url=moto_url, aws_access_key_id="testing",
                          aws_secret_access_key="testing", region_name="us-east-1")
    client.create_bucket(Bucket="flink-state")
    yield client
    for obj in client.list_objects_v2(Bucket="flink-state").get("Contents", []):
        client.delete_object(Bucket="flink-state", Key=obj["Key"])
    client.delete_bucket(Bucket="flink-state")
