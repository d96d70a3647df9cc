# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Connection options shared by every module of the flinkops.cookbook.flink action group.
    DOCUMENTATION = r"""
options:
  endpoint:
    description:
      - Base URL of the Flink JobManager REST API (or of a proxy in front of it), for example
        C(https://flink.example.com:8081).
      - Set it once for a play with C(module_defaults) and the action group
        C(group/flinkops.cookbook.flink).
      - Falls back to the E(FLINK_REST_URL) environment variable.
      - User info in the URL (C(https://user:password@host)) is used for basic authentication
        (unless O(username) or O(token) is set) and is never shown. Messages, errors and the
        returned C(invocation) carry the URL without it, and the password is masked wherever it appears.
    type: str
    required: true
  username:
    description:
      - User name for HTTP basic authentication (Flink behind an authenticating proxy).
      - Falls back to E(FLINK_REST_USERNAME).
      - Never shown in results, not even in C(invocation) at C(-vvv), where it reads C(********).
    type: str
  password:
    description:
      - Password for HTTP basic authentication. Falls back to E(FLINK_REST_PASSWORD).
    type: str
  token:
    description:
      - 'Bearer token sent as C(Authorization: Bearer <token>). Falls back to E(FLINK_REST_TOKEN).'
      - Mutually exclusive with O(username).
    type: str
  client_cert:
    description: Path to a PEM client certificate for mutual TLS.
    type: path
  client_key:
    description: Path to the PEM private key of O(client_cert), if not inside it.
    type: path
  validate_certs:
    description:
      - Verify the server's TLS certificate. Only turn this off for a throw-away test endpoint.
    type: bool
    default: true
  ca_path:
    description: Path to a PEM CA bundle used to verify the server's certificate.
    type: path
  request_timeout:
    description: Seconds to wait for one HTTP response.
    type: int
    default: 30
  retries:
    description:
      - How many times an idempotent request (GET, PUT, DELETE, or a POST carrying a client-chosen
        trigger id) is retried after a connection error, a timeout or HTTP 429/502/503/504, with
        capped exponential backoff and jitter. Job submission is never retried blindly.
    type: int
    default: 3
  failover_timeout:
    description:
      - Seconds an idempotent request keeps being retried, beyond O(retries), while the JobManager
        fails over to a new leader (ZooKeeper or Kubernetes HA). During a leader change Flink answers
        HTTP 503 ("ongoing leader election") or HTTP 500 with an RPC or leadership error, or refuses
        connections; none of these is an answer about the job.
      - A job submission whose answer is lost in a failover is reconciled by its job id, never posted
        twice. V(0) turns the failover window off.
      - The default covers Flink's default ZooKeeper session timeout (60 s), after which the standby
        takes over.
    type: int
    default: 120
requirements:
  - requests
"""
