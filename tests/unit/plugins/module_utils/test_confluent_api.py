"""confluent_api: the connection options of the confluent_cloud group (own key/secret per API, env
fallbacks, no_log), pagination through metadata.next, and errors that carry the server's message."""
from __future__ import annotations

import pytest

from ansible_collections.flinkops.cookbook.plugins.module_utils._errors import ConfluentError
from ansible_collections.flinkops.cookbook.plugins.module_utils._http import HttpError
from ansible_collections.flinkops.cookbook.plugins.module_utils.confluent_api import (
    CLOUD_URL, connection_args, http_for)
from ansible_collections.flinkops.cookbook.plugins.module_utils.kafka_rest import KafkaRestClient


def test_each_api_has_its_own_key_and_secret_with_the_cookbooks_env_names_and_secrets_are_no_log():
    spec = connection_args()
    envs = dict((name, opt["fallback"][1][0]) for name, opt in spec.items() if "fallback" in opt)
    assert envs["cloud_api_key"] == "CONFLUENT_CLOUD_API_KEY" and envs["cloud_api_secret"] == "CONFLUENT_CLOUD_API_SECRET"
    assert envs["cloud_url"] == "CONFLUENT_CLOUD_REST_ENDPOINT"
    assert envs["kafka_api_key"] == "KAFKA_API_KEY" and envs["kafka_api_secret"] == "KAFKA_API_SECRET"
    assert envs["kafka_cluster_id"] == "KAFKA_CLUSTER_ID"
    assert envs["flink_api_key"] == "FLINK_API_KEY" and envs["flink_api_secret"] == "FLINK_API_SECRET"
    assert sorted(n for n, o in spec.items() if o.get("no_log")) == sorted(
        "%s_api_%s" % (api, part) for api in ("cloud", "flink", "kafka") for part in ("key", "secret"))
    assert spec["validate_certs"]["default"] is True


def test_missing_endpoint_or_half_a_key_pair_fails_naming_the_option_and_the_variable():
    with pytest.raises(ConfluentError, match="kafka_url .*KAFKA_REST_ENDPOINT"):
        http_for("kafka", {"kafka_url": None})
    with pytest.raises(ConfluentError, match="flink_api_key and flink_api_secret .*only one is set"):
        http_for("flink", {"flink_url": "https://flink.example", "flink_api_key": "k", "flink_api_secret": None})
    with pytest.raises(ConfluentError, match="kafka_cluster_id .*KAFKA_CLUSTER_ID"):
        KafkaRestClient.from_params({"kafka_url": "https://pkc.example"})
    assert http_for("cloud", {}).base_url == CLOUD_URL
    assert http_for("cloud", {}).session.verify is True


def test_list_follows_metadata_next_across_pages(cc, kafka):
    cc.add_link("lkc-dr", "l1", topics=dict(("t%d" % i, {}) for i in range(5)))
    mirrors = kafka.list_mirrors("l1")
    assert [m["mirror_topic_name"] for m in mirrors] == ["t0", "t1", "t2", "t3", "t4"]
    pages = [e for e in cc.log if e["path"].endswith("/links/l1/mirrors")]
    assert [e["query"].get("page_token") for e in pages] == [None, "2", "4"]


def test_an_error_carries_the_method_url_status_and_the_servers_message(cc, kafka):
    cc.add_cluster("lkc-dr")
    with pytest.raises(HttpError) as info:
        kafka.alter_mirrors("nope", "failover", ["orders"])
    err = info.value
    assert err.status == 404 and "Cluster link 'nope' does not exist." in str(err) and "mirrors:failover" in str(err)


def test_wrong_credentials_are_a_401_with_the_servers_words(cc):
    cc.add_cluster("lkc-dr")
    client = KafkaRestClient.from_params(cc.module_params(kafka_api_secret="wrong"))
    with pytest.raises(HttpError) as info:
        client.list_links()
    assert info.value.status == 401 and "invalid or missing" in str(info.value)


def test_a_429_is_waited_out_as_retry_after_says(cc):
    cc.add_link("lkc-dr", "l1", topics={"orders": {}})
    sleeps = []
    client = KafkaRestClient.from_params(cc.module_params(), sleep=sleeps.append)
    cc.inject("status", status=429, path="/links/l1/mirrors$", retry_after=4)
    assert [m["mirror_topic_name"] for m in client.list_mirrors("l1")] == ["orders"]
    assert sleeps == [4.0]
    cc.inject("status", status=429, path="/links/l1/mirrors$", retry_after=3, http_date=True)
    client.list_mirrors("l1")
    assert 1.5 <= sleeps[-1] <= 3.0
