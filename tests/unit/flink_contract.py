"""Checks requests against the Flink REST OpenAPI specs in /work/shared/specs/flink.

The specs are read in place (never copied). ``contract(version)`` returns a cached
``FlinkContract`` for a Flink version ("1.18" ... "2.3"), or skips the test when the spec
files are not there.

Enum query parameters accept lower case: Flink upper-cases them before ``valueOf`` (e.g.
``TerminationModeQueryParameter``; its own client sends ``?mode=cancel``).

Strict by default: Flink's REST handlers parse request bodies with Jackson's
``FAIL_ON_UNKNOWN_PROPERTIES`` (``RestMapperUtils.getStrictObjectMapper``), so a field the
spec of that version does not list is an error. The generated specs leave objects open;
strict mode closes every request-body object that lists its properties.
"""
from __future__ import annotations

import copy
import functools
import re
from pathlib import Path

import pytest
import requests
import yaml

SPECS_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "specs" / "flink"
SPEC_FILES = {
    "1.18": "versions/rest_v1_dispatcher-1.18-branchcut.yml",
    "1.19": "versions/rest_v1_dispatcher-1.19-branchcut.yml",
    "1.20": "versions/rest_v1_dispatcher-1.20-branchcut.yml",
    "2.0": "versions/rest_v1_dispatcher-2.0-branchcut.yml",
    "2.1": "versions/rest_v1_dispatcher-2.1-2.2-branchcut.yml",
    "2.2": "versions/rest_v1_dispatcher-2.1-2.2-branchcut.yml",
    "2.3": "rest_v1_dispatcher.yml",
}
VERSIONS = sorted(SPEC_FILES, key=lambda v: tuple(int(p) for p in v.split(".")))
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class ContractError(AssertionError):
    """A request the spec of that Flink version does not allow."""


def spec_path(version):
    return (SPECS_DIR / SPEC_FILES[version]).resolve()


@functools.lru_cache(maxsize=None)
def _load(path, strict):
    return FlinkContract(path, strict)


def contract(version, strict=True):
    path = spec_path(version)
    if not path.is_file():
        pytest.skip("Flink REST spec for %s not found at %s (the shared specs are not checked out)" % (version, path))
    return _load(path, strict)


class FlinkContract(object):
    def __init__(self, path, strict=True):
        from openapi_core import OpenAPI

        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        with open(path) as handle:
            raw = yaml.load(handle, Loader=loader)
        self.path = path
        self.raw = raw
        self.schemas = raw.get("components", {}).get("schemas", {})
        spec = copy.deepcopy(raw)
        # The generated specs declare no servers; Flink serves the API both at / and /v1.
        spec["servers"] = [{"url": "/"}, {"url": "/v1"}]
        _case_insensitive_query_enums(spec)
        if strict:
            _close_request_bodies(spec)
        self.api = OpenAPI.from_dict(spec)
        self._templates = [(template, _template_regex(template)) for template in raw["paths"]]

    # -- paths -----------------------------------------------------------------------------
    def operation(self, method, path):
        """The spec path template for a concrete ``path``; ContractError if there is none."""
        path = re.sub(r"^/v1(?=/)", "", path.split("?")[0])
        templates = [t for t, rx in self._templates if rx.match(path)]
        if not templates:
            raise ContractError("%s: no path in %s matches %s" % (method, self.path.name, path))
        for template in templates:
            if method.lower() in self.raw["paths"][template]:
                return template
        raise ContractError("%s %s: the spec (%s) has %s but not for %s"
                            % (method, path, self.path.name, ", ".join(templates), method))

    # -- requests --------------------------------------------------------------------------
    def check_request(self, request, body=True):
        """Validate a ``requests.PreparedRequest``: path, method, parameters and (if ``body``)
        the JSON body. Raises ContractError with the validator's reasons."""
        from openapi_core.contrib.requests import RequestsOpenAPIRequest
        from openapi_core.validation.request.validators import V30RequestParametersValidator

        self.operation(request.method, requests.utils.urlparse(request.url).path)
        wrapped = RequestsOpenAPIRequest(request)
        try:
            if body:
                self.api.validate_request(wrapped)
            else:
                V30RequestParametersValidator(self.api.spec).validate(wrapped)
        except Exception as exc:  # openapi-core raises several error types
            raise ContractError("%s %s violates %s: %s%s" % (
                request.method, request.url, self.path.name, exc, _reasons(exc)))

    def check_body(self, method, path, body, params=None):
        """Validate one JSON request as the client would send it."""
        request = requests.Request(method, "http://flink.test:8081" + path, json=body, params=params).prepare()
        self.check_request(request)

    # -- responses -------------------------------------------------------------------------
    def response_schema(self, method, template, status="200"):
        operation = self.raw["paths"][template][method.lower()]
        content = operation["responses"][status].get("content", {})
        return content.get("application/json", {}).get("schema")

    def has_field(self, method, template, field_path):
        """Whether the 200 response of ``method template`` can carry ``field_path``:
        a list of property names, ``[]`` for array items, ``*`` for map values."""
        return self._has(self.response_schema(method, template), list(field_path), set())

    def _resolve(self, schema):
        while schema and "$ref" in schema:
            schema = self.schemas[schema["$ref"].rsplit("/", 1)[-1]]
        return schema or {}

    def _subtypes(self, schema):
        """Schemas that extend ``schema`` via allOf (Flink's polymorphic checkpoint stats)."""
        for name, candidate in self.schemas.items():
            for part in candidate.get("allOf", []):
                if "$ref" in part and self._resolve(part) is schema:
                    yield candidate

    def _has(self, schema, path, seen):
        schema = self._resolve(schema)
        if not path:
            return True
        if id(schema) in seen:
            return False
        seen = seen | {id(schema)}
        head, rest = path[0], path[1:]
        if head == "[]" and schema.get("items"):
            if self._has(schema["items"], rest, seen):
                return True
        if head == "*" and isinstance(schema.get("additionalProperties"), dict):
            if self._has(schema["additionalProperties"], rest, seen):
                return True
        if head in schema.get("properties", {}):
            if self._has(schema["properties"][head], rest, seen):
                return True
        branches = schema.get("allOf", []) + schema.get("oneOf", []) + schema.get("anyOf", [])
        branches += list((schema.get("discriminator") or {}).get("mapping", {}).values())
        branches = [{"$ref": b} if isinstance(b, str) else b for b in branches]
        branches += list(self._subtypes(schema))
        return any(self._has(b, path, seen) for b in branches)


def _template_regex(template):
    return re.compile("^" + re.sub(r"\\{[^}/]+\\}", "[^/]+", re.escape(template)) + "$")


def _reasons(exc):
    seen, out = set(), []
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        for err in getattr(exc, "schema_errors", None) or ():
            out.append(getattr(err, "message", str(err)))
        exc = exc.__cause__ or exc.__context__
    return (" [%s]" % "; ".join(out)) if out else ""


def _close_request_bodies(spec):
    schemas = spec.get("components", {}).get("schemas", {})
    done = set()

    def close(schema):
        if not isinstance(schema, dict):
            return
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            if name not in done:
                done.add(name)
                close(schemas.get(name))
            return
        if "properties" in schema and "additionalProperties" not in schema and "allOf" not in schema:
            schema["additionalProperties"] = False
        for sub in schema.get("properties", {}).values():
            close(sub)
        for key in ("items", "additionalProperties"):
            close(schema.get(key))
        for key in ("oneOf", "anyOf"):
            for sub in schema.get(key, []):
                close(sub)

    for item in spec["paths"].values():
        for method in HTTP_METHODS:
            body = (item.get(method) or {}).get("requestBody") or {}
            for media in body.get("content", {}).values():
                close(media.get("schema"))


def _case_insensitive_query_enums(spec):
    schemas = spec.get("components", {}).get("schemas", {})
    for item in spec["paths"].values():
        for method in HTTP_METHODS:
            for param in (item.get(method) or {}).get("parameters", []):
                schema = param.get("schema") or {}
                if "$ref" in schema:
                    schema = schemas.get(schema["$ref"].rsplit("/", 1)[-1], {})
                if param.get("in") == "query" and schema.get("enum"):
                    values = [str(v) for v in schema["enum"]]
                    param["schema"] = dict(schema, enum=sorted(set(values + [v.lower() for v in values])))
