# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""FOR INTERNAL COLLECTION USE ONLY.

The Kafka REST v3 client of a cluster (``/kafka/v3/clusters/{cluster_id}``): cluster links,
mirror topics and consumer-group lags, on the one transport. One method per call, no policy
(the failover rules live in ``cluster_link_ops``).

Confluent Cloud (``ccloud-kafkarest-v3-openapi.yaml``) and Confluent Platform / Confluent Server
(``cp-kafka-rest-sdk-go-kafkarestv3-openapi.yaml``) agree on every path used here except the two
reverse actions: Confluent Cloud has ``mirrors:reverse-and-start-mirror`` and
``mirrors:reverse-and-pause-mirror``; the CP YAML names them
``mirrors:promote-local-and-start-remote-mirror`` / ``...-pause-remote-mirror`` while the CP
Go client of the same commit uses the Cloud names. The CP names are UNVERIFIED (see
``../shared/specs/confluent/SOURCE.md``), so ``reverse`` uses the Cloud path only.

Mirror actions (``mirrors:failover``, ``:promote``, ``:reverse-and-*``) answer 200 with one entry
per topic, each with its own ``error_code``/``error_message``: a batch is never all-or-nothing.
They are POSTs and not retried after a lost answer (a 429 is: the server did not act); the
caller reads the mirror states again instead, which makes a re-run safe.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.flinkops.cookbook.plugins.module_utils._errors import ConfluentError
from ansible_collections.flinkops.cookbook.plugins.module_utils.confluent_api import ConfluentRest, http_for, require

try:
    from urllib.parse import quote
except ImportError:  # pragma: no cover - Python 2
    from urllib import quote

MIRROR_ACTIONS = ("failover", "promote", "pause", "resume", "reverse-and-start-mirror", "reverse-and-pause-mirror")


def _q(name, what="name"):
    text = str(name or "")
    if not text or "/" in text or text in (".", ".."):
        raise ConfluentError("invalid Kafka %s %r" % (what, name))
    return quote(text, safe="")


class KafkaRestClient(ConfluentRest):
    def __init__(self, http, cluster_id):
        super(KafkaRestClient, self).__init__(http)
        self.cluster_id = cluster_id
        self.base = "/kafka/v3/clusters/%s" % _q(cluster_id, "cluster id")

    @classmethod
    def from_params(cls, params, **kwargs):
        return cls(http_for("kafka", params, **kwargs), require(params, "kafka_cluster_id", "KAFKA_CLUSTER_ID"))

    # -- cluster links -----------------------------------------------------------------------
    def list_links(self):
        return self.list_next(self.base + "/links")

    def get_link(self, link):
        return self.http.get_or_none("%s/links/%s" % (self.base, _q(link, "link name")))

    # -- mirror topics -----------------------------------------------------------------------
    def list_mirrors(self, link, status=None):
        params = {"mirror_status": status} if status else None
        return self.list_next("%s/links/%s/mirrors" % (self.base, _q(link, "link name")), params=params)

    def get_mirror(self, link, topic):
        return self.http.get_or_none("%s/links/%s/mirrors/%s" % (self.base, _q(link, "link name"), _q(topic, "topic")))

    def alter_mirrors(self, link, action, topics, validate_only=False):
        """POST ``mirrors:<action>`` for ``topics``; the per-topic results (``data``)."""
        if action not in MIRROR_ACTIONS:
            raise ConfluentError("unknown mirror action %r (one of %s)" % (action, ", ".join(MIRROR_ACTIONS)))
        params = {"validate_only": "true"} if validate_only else None
        data = self.http.post("%s/links/%s/mirrors:%s" % (self.base, _q(link, "link name"), action),
                              json_body={"mirror_topic_names": list(topics)}, params=params) or {}
        return data.get("data") or []

    # -- consumer groups ---------------------------------------------------------------------
    def list_consumer_groups(self):
        return self.list_next(self.base + "/consumer-groups")

    def consumer_group_lags(self, group):
        return self.list_next("%s/consumer-groups/%s/lags" % (self.base, _q(group, "consumer group")))

    def consumer_group_lag_summary(self, group):
        return self.http.get_or_none("%s/consumer-groups/%s/lag-summary" % (self.base, _q(group, "consumer group")))
