"""Unit tests of plugins/modules/cmf_secret.py: planning the secret without reading its values, masked views."""
from __future__ import annotations

import pytest

from ansible_collections.flinkops.cookbook.plugins.module_utils.cmf_rest import CmfError
from ansible_collections.flinkops.cookbook.plugins.modules import cmf_secret

SECRET = {"metadata": {"name": "creds", "labels": {"a": "1"}}, "spec": {}, "status": {"version": "3"}}


def secret_params(**kw):
    params = {"name": "creds", "data": {"password": "new"}, "update_secrets": False, "labels": None,
              "annotations": None}
    params.update(kw)
    return params


def test_secret_values_are_not_compared_without_update_secrets():
    found, body = cmf_secret.plan_secret(secret_params(), SECRET)
    assert found == [] and body["spec"] == {"data": {"password": "new"}}


def test_update_secrets_always_writes_the_values():
    found, _body = cmf_secret.plan_secret(secret_params(update_secrets=True), SECRET)
    assert found == ["data"]


def test_a_label_change_on_a_secret_needs_the_values():
    with pytest.raises(CmfError, match="needs data"):
        cmf_secret.plan_secret(secret_params(data=None, labels={"a": "2"}), SECRET)


def test_secret_views_mask_values():
    body = {"metadata": {"name": "creds"}, "spec": {"data": {"password": "s3cr3t"}}}
    assert cmf_secret.masked_view(body)["spec"] == {"data": {"password": cmf_secret.MASK}}
    assert cmf_secret.version(SECRET) == "3"
