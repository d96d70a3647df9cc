#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: flink_storage_probe
short_description: Probe a Flink checkpoint or savepoint directory with a real write, read and delete
version_added: 0.1.0
description:
  - Cookbook recipe 7.2, step 2 ("attempt a small write/read manually to the checkpoint directory").
    Writes a small object below O(uri), reads it back and compares it, deletes it, and checks that it is
    gone. Returns the latency of each step.
  - C(s3://), C(s3a://) and C(s3p://) go through boto3 (AWS S3 or any S3-compatible store through
    O(endpoint_url)); C(file://), C(file:/) (the form Flink reports) and absolute paths through plain
    file I/O on the host the module runs on.
  - On failure the module fails with a message naming the URI, the step (C(write), C(read), C(delete),
    C(verify_deleted)) and the cause the store gave.
  - The probe object is deleted also after a failed read, so the module leaves nothing behind and
    always reports C(changed=false).
  - Run it where Flink runs (delegate to a JobManager or TaskManager host) to test Flink's own access;
    from the controller it tests the controller's.
author:
  - flinkops maintainers (@flinkops)
options:
  uri:
    description:
      - The directory to probe, for example C(s3://flink-state/checkpoints) or C(file:///mnt/flink/checkpoints).
      - A file directory must exist; the probe never creates directories.
    type: str
    required: true
    aliases: [path]
  size:
    description: Bytes written and read back.
    type: int
    default: 1024
  endpoint_url:
    description:
      - URL of an S3-compatible endpoint (MinIO, Ceph, a private endpoint). AWS S3 when unset.
      - Falls back to E(AWS_ENDPOINT_URL_S3), then E(AWS_ENDPOINT_URL).
    type: str
  region:
    description: AWS region. Falls back to E(AWS_REGION), then E(AWS_DEFAULT_REGION).
    type: str
  access_key:
    description:
      - AWS access key id. Falls back to E(AWS_ACCESS_KEY_ID); when unset too, boto3's own credential
        chain (profile, instance role) is used.
    type: str
    aliases: [aws_access_key_id]
  secret_key:
    description: AWS secret access key. Falls back to E(AWS_SECRET_ACCESS_KEY).
    type: str
    aliases: [aws_secret_access_key]
  session_token:
    description: AWS session token. Falls back to E(AWS_SESSION_TOKEN).
    type: str
    aliases: [aws_session_token]
  validate_certs:
    description: Verify the TLS certificate of the S3 endpoint.
    type: bool
    default: true
  path_style:
    description: Address buckets in the path (C(https://host/bucket/key)), as most S3-compatible stores need.
    type: bool
    default: false
  timeout:
    description: Seconds to connect and to wait for each S3 response.
    type: int
    default: 10
requirements:
  - boto3 (for S3 URIs)
attributes:
  check_mode:
    support: full
    description: In check mode the module reports the object it would write and the steps, and writes nothing.
  diff_mode:
    support: none
    description: Leaves nothing behind, so there is no diff.
"""

EXAMPLES = r"""
- name: Probe the checkpoint bucket with the credentials of the environment
  flinkops.cookbook.flink_storage_probe:
    uri: s3://flink-state-prod/checkpoints
  register: probe

- name: Probe a MinIO bucket
  flinkops.cookbook.flink_storage_probe:
    uri: s3a://checkpoints/orders
    endpoint_url: https://minio.example.internal:9000
    path_style: true

- name: Probe a shared mount from a TaskManager host, without failing the play
  flinkops.cookbook.flink_storage_probe:
    uri: file:///mnt/flink/checkpoints
  delegate_to: tm-1.example.internal
  register: probe
  failed_when: false
"""

RETURN = r"""
uri:
  description: The probed URI, as given.
  returned: always
  type: str
backend:
  description: C(s3) or C(file).
  returned: always
  type: str
object:
  description: The probe object written and deleted (in check mode, with C(<random>) for the random part).
  returned: always
  type: str
bytes:
  description: Bytes written and read back.
  returned: success
  type: int
latency_ms:
  description: Milliseconds per step (C(write), C(read), C(delete), C(verify_deleted)) and C(total).
  returned: success
  type: dict
  sample: {"write": 12.3, "read": 4.1, "delete": 3.0, "verify_deleted": 1.2, "total": 20.6}
step:
  description: The step that failed (C(parse), C(connect), C(write), C(read), C(delete), C(verify_deleted)).
  returned: failure
  type: str
cause:
  description: What the store answered, for example C(AccessDenied (HTTP 403) ...) or C(PermissionError ...).
  returned: failure
  type: str
steps:
  description: What the probe would do.
  returned: check mode
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.flinkops.cookbook.plugins.module_utils import storage_probe


def argument_spec():
    return dict(
        uri=dict(type="str", required=True, aliases=["path"]),
        size=dict(type="int", default=1024),
        endpoint_url=dict(type="str", fallback=(env_fallback, ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"])),
        region=dict(type="str", fallback=(env_fallback, ["AWS_REGION", "AWS_DEFAULT_REGION"])),
        access_key=dict(type="str", no_log=True, aliases=["aws_access_key_id"],
                        fallback=(env_fallback, ["AWS_ACCESS_KEY_ID"])),
        secret_key=dict(type="str", no_log=True, aliases=["aws_secret_access_key"],
                        fallback=(env_fallback, ["AWS_SECRET_ACCESS_KEY"])),
        session_token=dict(type="str", no_log=True, aliases=["aws_session_token"],
                           fallback=(env_fallback, ["AWS_SESSION_TOKEN"])),
        validate_certs=dict(type="bool", default=True),
        path_style=dict(type="bool", default=False),
        timeout=dict(type="int", default=10),
    )


def run(module):
    params = module.params
    uri, size = params["uri"], params["size"]
    if size < 1:
        raise storage_probe.ProbeError(uri, "parse", "size must be at least 1 byte")
    planned = storage_probe.plan(uri, size)
    if planned["backend"] == "s3" and not storage_probe.HAS_BOTO3:
        module.fail_json(msg=missing_required_lib("boto3"), exception=str(storage_probe.BOTO3_IMPORT_ERROR),
                         uri=uri, step="connect", cause="boto3 is not installed")
    if module.check_mode:
        return dict(planned, changed=False, msg="check mode: would probe %s" % uri)
    s3_options = dict((k, params[k]) for k in ("region", "endpoint_url", "access_key", "secret_key",
                                               "session_token", "validate_certs", "path_style", "timeout"))
    result = storage_probe.probe(uri, size=size, s3_options=s3_options)
    result.update(changed=False, msg="%s: wrote, read back and deleted %d bytes in %.1f ms"
                  % (uri, size, result["latency_ms"]["total"]))
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    try:
        result = run(module)
    except storage_probe.ProbeError as exc:
        module.fail_json(msg=str(exc), **dict(exc.result_details(), uri=exc.uri, step=exc.step, cause=exc.cause,
                                              changed=False))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
