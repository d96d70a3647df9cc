# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""FOR INTERNAL COLLECTION USE ONLY.

The base of every FKO module and its one client, built on kubernetes.core's module_utils the
way kubevirt.core builds its custom-resource modules: ``AnsibleK8SModule`` (argument checks,
the ``kubernetes`` requirement), ``get_api_client`` (kubeconfig, context, host, TLS, proxy:
kubernetes.core's own ``AUTH_ARG_SPEC``) and ``K8sService.find_resource`` (discovery). No
Kubernetes client is written here: ``FkoClient`` only names the resources and turns the
dynamic client's errors into ``FkoError`` messages that name the resource, the HTTP status and
the API server's message.

The rest is ``_module.RestModule``'s (progress reports, the invocation, the one ``fail``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json

from ansible_collections.flinkops.cookbook.plugins.module_utils._errors import FkoError, OpsError
from ansible_collections.flinkops.cookbook.plugins.module_utils._module import RestModule

try:
    from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.service import K8sService
    HAS_K8S_CORE = True
except ImportError:  # pragma: no cover - kubernetes.core ships with the ansible package
    AUTH_ARG_SPEC = {}
    HAS_K8S_CORE = False

    class CoreException(Exception):
        """Stand-in: kubernetes.core is missing."""

try:
    from kubernetes.dynamic.exceptions import DynamicApiError, NotFoundError
except ImportError:  # pragma: no cover - AnsibleK8SModule reports the missing library
    class DynamicApiError(Exception):
        """Stand-in: the kubernetes library is missing (AnsibleK8SModule fails first)."""

    class NotFoundError(DynamicApiError):
        """Stand-in: the kubernetes library is missing."""

API_VERSION = "flink.apache.org/v1beta1"
KINDS = ("FlinkDeployment", "FlinkSessionJob", "FlinkStateSnapshot")


def argument_spec(**extra):
    """kubernetes.core's connection options (TLS verification left on by default), the
    namespace, and the module's own options."""
    spec = copy.deepcopy(AUTH_ARG_SPEC)
    spec["namespace"] = dict(type="str", default="default")
    spec.update(extra)
    return spec


def api_message(exc):
    """``HTTP <status> <reason>: <the API server's message>`` of a dynamic client error."""
    status = getattr(exc, "status", None)
    reason = getattr(exc, "reason", None) or ""
    body = getattr(exc, "body", None)
    message = None
    if body:
        try:
            payload = json.loads(body.decode("utf-8") if isinstance(body, bytes) else body)
            message = payload.get("message")
            reason = payload.get("reason") or reason
        except (ValueError, AttributeError):
            message = str(body)[:500]
    return "HTTP %s %s: %s" % (status, reason, message or getattr(exc, "summary", lambda: str(exc))())


class FkoClient(object):
    """The flink.apache.org resources of one namespace, through kubernetes.core's client."""

    def __init__(self, k8s, service, namespace):
        self.k8s = k8s
        self.service = service
        self.namespace = namespace
        self._resources = {}

    def resource(self, kind, api_version=API_VERSION):
        key = (api_version, kind)
        if key not in self._resources:
            try:
                found = self.service.find_resource(kind, api_version, fail=True)
            except CoreException as exc:
                raise FkoError("%s (%s) is not served by the Kubernetes API: %s. Is the Flink Kubernetes Operator's "
                               "CRD installed?" % (kind, api_version, exc))
            except DynamicApiError as exc:
                raise FkoError("discovery of %s (%s) failed: %s" % (kind, api_version, api_message(exc)))
            self._resources[key] = found
        return self._resources[key]

    def _what(self, kind, name):
        return "%s %s/%s" % (kind, self.namespace, name) if name else "%ss in namespace %s" % (kind, self.namespace)

    def _call(self, what, call):
        try:
            return call()
        except DynamicApiError as exc:
            raise FkoError("%s: %s" % (what, api_message(exc)), status=getattr(exc, "status", None))

    def get(self, kind, name, api_version=API_VERSION, namespace=None):
        res = self.resource(kind, api_version)
        try:
            obj = res.get(name=name, namespace=namespace or (self.namespace if res.namespaced else None))
        except NotFoundError:
            return None
        except DynamicApiError as exc:
            raise FkoError("read of %s: %s" % (self._what(kind, name), api_message(exc)))
        return obj.to_dict()

    def list(self, kind, label_selector=None):
        res = self.resource(kind)
        found = self._call("list of " + self._what(kind, None),
                           lambda: res.get(namespace=self.namespace, label_selector=label_selector))
        return [item.to_dict() for item in found.items]

    def create(self, kind, body):
        res = self.resource(kind)
        name = body["metadata"].get("name")
        return self._call("create of " + self._what(kind, name),
                          lambda: self.k8s.create(res, body, namespace=self.namespace)).to_dict()

    def replace(self, kind, body):
        """PUT with the ``resourceVersion`` that was read: a concurrent change fails with 409."""
        res = self.resource(kind)
        name = body["metadata"]["name"]
        return self._call("update of " + self._what(kind, name),
                          lambda: self.k8s.replace(res, body, namespace=self.namespace)).to_dict()

    def delete(self, kind, name):
        res = self.resource(kind)
        return self._call("delete of " + self._what(kind, name),
                          lambda: self.k8s.delete(res, name=name, namespace=self.namespace))

    def namespace_exists(self):
        return self.get("Namespace", self.namespace, api_version="v1", namespace=None) is not None


class _NoHttp(object):
    """``RestModule.fail`` and ``report`` look for a REST transport; the dynamic client has none."""
    url_password = None


class FkoModule(RestModule):
    """An FKO module: ``AnsibleK8SModule`` for the arguments, ``RestModule`` for the rest."""

    API = "Kubernetes API"

    def __init__(self, spec, **kwargs):  # pylint: disable=super-init-not-called
        if not HAS_K8S_CORE:  # pragma: no cover
            raise SystemExit("kubernetes.core is required")
        self.k8s_module = AnsibleK8SModule(argument_spec=spec, **kwargs)
        self.module = self.k8s_module._module  # pylint: disable=protected-access
        self.params = self.module.params
        self.check_mode = self.module.check_mode
        self.messages = []
        self.http = _NoHttp()
        try:
            k8s = get_api_client(module=self.k8s_module)
            self.client = FkoClient(k8s, K8sService(k8s, self.k8s_module), self.params["namespace"])
        except (CoreException, OpsError) as exc:
            self.module.fail_json(msg="cannot reach the Kubernetes API: %s" % exc, invocation=self.invocation())

    def close(self):
        """The dynamic client keeps no connection that needs closing."""
