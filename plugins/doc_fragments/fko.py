# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Options every module of the flinkops.cookbook.fko action group adds to kubernetes.core's
    # connection options (kubernetes.core.k8s_auth_options).
    DOCUMENTATION = r"""
options:
  namespace:
    description:
      - Kubernetes namespace of the Flink resources (a namespace the Flink Kubernetes Operator watches).
      - Set it once for a play with C(module_defaults) and the action group C(group/flinkops.cookbook.fko),
        together with O(kubeconfig), O(context) or O(host).
    type: str
    default: default
notes:
  - The connection options are kubernetes.core's (O(kubeconfig), O(context), O(host), O(api_key), O(validate_certs),
    O(ca_cert), ...), with the same E(K8S_AUTH_*) environment fallbacks. TLS certificates are verified unless
    O(validate_certs=false).
requirements:
  - kubernetes >= 24.2.0 (Python)
"""
