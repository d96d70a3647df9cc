# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Connection options shared by every module of the flinkops.cookbook.confluent_cloud action group.
    DOCUMENTATION = r"""
options:
  cloud_url:
    description:
      - Base URL of the Confluent Cloud API (compute pools, C(/fcpm/v2)). Defaults to C(https://api.confluent.cloud).
      - Falls back to E(CONFLUENT_CLOUD_REST_ENDPOINT).
    type: str
  cloud_api_key:
    description:
      - Cloud API key (HTTP basic user) for O(cloud_url). Falls back to E(CONFLUENT_CLOUD_API_KEY).
    type: str
  cloud_api_secret:
    description:
      - Secret of O(cloud_api_key). Falls back to E(CONFLUENT_CLOUD_API_SECRET).
    type: str
  flink_url:
    description:
      - Base URL of the regional Flink SQL endpoint, for example C(https://flink.us-east-1.aws.confluent.cloud).
      - Falls back to E(FLINK_REST_ENDPOINT).
    type: str
  flink_api_key:
    description:
      - Flink API key (HTTP basic user) for O(flink_url). Falls back to E(FLINK_API_KEY).
    type: str
  flink_api_secret:
    description:
      - Secret of O(flink_api_key). Falls back to E(FLINK_API_SECRET).
    type: str
  organization_id:
    description: The Confluent Cloud organization id (a UUID) of the statements. Falls back to E(FLINK_ORGANIZATION_ID).
    type: str
  environment_id:
    description:
      - The Confluent Cloud environment id (C(env-...)) of the statements and compute pools.
      - Falls back to E(FLINK_ENVIRONMENT_ID).
    type: str
  kafka_url:
    description:
      - Base URL of the Kafka REST v3 endpoint of the cluster, for example C(https://pkc-00000.us-east-1.aws.confluent.cloud:443).
      - Falls back to E(KAFKA_REST_ENDPOINT).
    type: str
  kafka_api_key:
    description:
      - Kafka API key (HTTP basic user) of the cluster. Falls back to E(KAFKA_API_KEY).
    type: str
  kafka_api_secret:
    description:
      - Secret of O(kafka_api_key). Falls back to E(KAFKA_API_SECRET).
    type: str
  kafka_cluster_id:
    description: The Kafka cluster id (C(lkc-...)) the Kafka REST calls are for. Falls back to E(KAFKA_CLUSTER_ID).
    type: str
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
      - How many times a request is retried after HTTP 429 (any method; the wait honours C(Retry-After), in
        seconds or as an HTTP date), and, for reads, PUT and DELETE, after a connection error, a timeout or HTTP
        502/503/504, with capped exponential backoff and jitter. A mirror switch, a statement or pool create is
        not sent again after a lost answer; a re-run reads the state and finishes what is left.
    type: int
    default: 3
notes:
  - Every module of the action group C(flinkops.cookbook.confluent_cloud) accepts all these options, so
    C(module_defaults) sets them once for a play; each module uses those of the API it calls (Confluent Cloud API,
    Flink SQL endpoint, or Kafka REST), each with its own key and secret.
requirements:
  - requests
"""
