# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""FOR INTERNAL COLLECTION USE ONLY.

What the three Confluent APIs share, on the one transport (``_http.HttpClient``):

* the connection options of the action group ``flinkops.cookbook.confluent_cloud``. Every
  module of the group accepts the three sets (so ``module_defaults`` sets them once) and uses
  the one its API needs, each with its own key/secret pair and the environment variables the
  cookbook and Confluent's tools name:

  ========  =========================================  ======================================
  API       options                                    environment
  ========  =========================================  ======================================
  cloud     cloud_url, cloud_api_key, cloud_api_secret  CONFLUENT_CLOUD_REST_ENDPOINT,
            (``api.confluent.cloud``: compute pools)    CONFLUENT_CLOUD_API_KEY/_SECRET
  flink     flink_url, flink_api_key, flink_api_secret  FLINK_REST_ENDPOINT, FLINK_API_KEY/_SECRET,
            organization_id, environment_id             FLINK_ORGANIZATION_ID, FLINK_ENVIRONMENT_ID
  kafka     kafka_url, kafka_api_key, kafka_api_secret  KAFKA_REST_ENDPOINT, KAFKA_API_KEY/_SECRET,
            kafka_cluster_id                            KAFKA_CLUSTER_ID
  ========  =========================================  ======================================

* pagination: a list answers ``metadata.next`` (an absolute URL, or null); ``list_next``
  follows it until it is empty, capped;
* a GET that answers 404 is ``None``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import env_fallback

from ansible_collections.flinkops.cookbook.plugins.module_utils._errors import ConfluentError
from ansible_collections.flinkops.cookbook.plugins.module_utils._http import HttpClient
from ansible_collections.flinkops.cookbook.plugins.module_utils._module import RestModule

MAX_ITEMS = 10000
CLOUD_URL = "https://api.confluent.cloud"

# api -> (url option, key option, secret option, url env, key env, secret env)
APIS = {
    "cloud": ("cloud_url", "cloud_api_key", "cloud_api_secret",
              "CONFLUENT_CLOUD_REST_ENDPOINT", "CONFLUENT_CLOUD_API_KEY", "CONFLUENT_CLOUD_API_SECRET"),
    "flink": ("flink_url", "flink_api_key", "flink_api_secret",
              "FLINK_REST_ENDPOINT", "FLINK_API_KEY", "FLINK_API_SECRET"),
    "kafka": ("kafka_url", "kafka_api_key", "kafka_api_secret",
              "KAFKA_REST_ENDPOINT", "KAFKA_API_KEY", "KAFKA_API_SECRET"),
}
API_NAMES = {"cloud": "Confluent Cloud API", "flink": "Confluent Cloud Flink SQL API", "kafka": "Kafka REST API"}


def connection_args():
    """The connection options of every module of the group (the ``confluent_cloud`` doc fragment)."""
    spec = {}
    for url, key, secret, url_env, key_env, secret_env in APIS.values():
        spec[url] = dict(type="str", fallback=(env_fallback, [url_env]))
        spec[key] = dict(type="str", no_log=True, fallback=(env_fallback, [key_env]))
        spec[secret] = dict(type="str", no_log=True, fallback=(env_fallback, [secret_env]))
    spec["organization_id"] = dict(type="str", fallback=(env_fallback, ["FLINK_ORGANIZATION_ID"]))
    spec["environment_id"] = dict(type="str", fallback=(env_fallback, ["FLINK_ENVIRONMENT_ID"]))
    spec["kafka_cluster_id"] = dict(type="str", fallback=(env_fallback, ["KAFKA_CLUSTER_ID"]))
    spec["validate_certs"] = dict(type="bool", default=True)
    spec["ca_path"] = dict(type="path")
    spec["request_timeout"] = dict(type="int", default=30)
    spec["retries"] = dict(type="int", default=3)
    return spec


def argument_spec(**extra):
    spec = connection_args()
    spec.update(extra)
    return spec


def http_for(api, params, **kwargs):
    """An ``HttpClient`` for ``api`` from the module's options; fails naming the missing option."""
    url_opt, key_opt, secret_opt, url_env, key_env, secret_env = APIS[api]
    url = params.get(url_opt) or (CLOUD_URL if api == "cloud" else None)
    if not url:
        raise ConfluentError("%s: the option %s (or the environment variable %s) is required" % (
            API_NAMES[api], url_opt, url_env))
    key, secret = params.get(key_opt), params.get(secret_opt)
    if bool(key) != bool(secret):
        raise ConfluentError("%s: %s and %s (%s, %s) go together; only one is set" % (
            API_NAMES[api], key_opt, secret_opt, key_env, secret_env))
    return HttpClient(url, username=key, password=secret, validate_certs=params.get("validate_certs", True),
                      ca_path=params.get("ca_path"), timeout=params.get("request_timeout", 30),
                      retries=params.get("retries", 3), **kwargs)


def require(params, option, env):
    value = params.get(option)
    if not value:
        raise ConfluentError("the option %s (or the environment variable %s) is required" % (option, env))
    return value


class ConfluentRest(object):
    """Plumbing every Confluent client shares."""

    def __init__(self, http):
        self.http = http

    def list_next(self, path, params=None, limit=MAX_ITEMS):
        """Every item of a list, following ``metadata.next`` (an absolute URL with its query)."""
        items = []
        data = self.http.get(path, params=params) or {}
        seen = set()
        while True:
            items.extend(data.get("data") or [])
            nxt = (data.get("metadata") or {}).get("next")
            if not nxt or len(items) >= limit or nxt in seen:
                break
            seen.add(nxt)
            data = self.http.get(nxt) or {}
        return items[:limit]


class ConfluentModule(RestModule):
    """Subclasses set ``CLIENT`` (a client class with ``from_params(params)``) and ``API_KEY``."""

    CLIENT = None
    API_KEY = "kafka"

    @property
    def API(self):  # noqa: N802 - RestModule reads it as an attribute
        return API_NAMES[self.API_KEY]

    def __init__(self, argument_spec_, **kwargs):
        super(ConfluentModule, self).__init__(argument_spec_, **kwargs)

    def make_client(self, params):
        return self.CLIENT.from_params(params)
