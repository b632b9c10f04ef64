"""The discovery documents shipped with googleapiclient, used as the contract for every request.

Each incoming request is matched to exactly one discovery method (httpMethod + flatPath, or a
mediaUpload protocol path); its query parameters and JSON body are checked against the document.
Anything Google would reject for its shape is reported as a problem string; the server answers 400
and records a violation.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import unquote

from googleapiclient.discovery_cache import get_static_doc

# api short name -> (discovery name, version)
APIS: dict[str, tuple[str, str]] = {
    "drive": ("drive", "v3"),
    "forms": ("forms", "v1"),
    "sheets": ("sheets", "v4"),
    "gmail": ("gmail", "v1"),
}

# Query parameters every Google API accepts (the brief's list plus oauth_token, which every
# discovery document also declares at the top level).
STANDARD_PARAMS = frozenset(
    {
        "fields",
        "alt",
        "key",
        "prettyPrint",
        "quotaUser",
        "uploadType",
        "$.xgafv",
        "access_token",
        "oauth_token",
        "callback",
        "upload_protocol",
    }
)
# The emulator's own resumable-upload session parameter (real Google uses upload_id too).
UPLOAD_PARAMS = frozenset({"upload_id"})
STANDARD_ENUMS: dict[str, frozenset[str]] = {
    "alt": frozenset({"json", "media", "proto"}),
    "$.xgafv": frozenset({"1", "2"}),
}


@cache
def load_document(name: str, version: str) -> dict[str, Any]:
    """The discovery document exactly as googleapiclient ships it (cached; callers must copy)."""
    text = get_static_doc(name, version)
    if text is None:
        raise LookupError(f"googleapiclient ships no discovery document for {name} {version}")
    return json.loads(text)


@dataclass(frozen=True)
class MethodSpec:
    api: str
    method_id: str
    http_method: str
    template: str  # absolute path template, e.g. /drive/v3/files/{fileId}
    regex: re.Pattern[str]
    param_names: tuple[str, ...]
    literal_len: int  # more literal characters = more specific template (files/trash beats files/{id})
    desc: dict[str, Any] = field(repr=False, compare=False)
    upload: bool = False

    @property
    def scopes(self) -> list[str]:
        return list(self.desc.get("scopes", []))

    @property
    def supports_media_download(self) -> bool:
        return bool(self.desc.get("supportsMediaDownload"))


def _compile(template: str) -> tuple[re.Pattern[str], tuple[str, ...], int]:
    names: list[str] = []
    pattern = ""
    literal = 0
    pos = 0
    for m in re.finditer(r"\{(\+?)([^}]+)\}", template):
        chunk = template[pos : m.start()]
        pattern += re.escape(chunk)
        literal += len(chunk)
        names.append(m.group(2))
        # {+name} is reserved expansion (may contain '/'); {name} is one path segment.
        pattern += "(.+)" if m.group(1) else "([^/]+)"
        pos = m.end()
    chunk = template[pos:]
    pattern += re.escape(chunk)
    literal += len(chunk)
    return re.compile("^" + pattern + "$"), tuple(names), literal


def _walk_methods(resources: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for res in resources.values():
        out.extend(res.get("methods", {}).values())
        out.extend(_walk_methods(res.get("resources", {})))
    return out


class Discovery:
    """All method specs of the four APIs, with request checking."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.specs: list[MethodSpec] = []
        self.by_id: dict[str, MethodSpec] = {}
        for api, (name, version) in APIS.items():
            doc = load_document(name, version)
            self.docs[api] = doc
            service_path = doc["servicePath"]
            for desc in _walk_methods(doc["resources"]):
                templates = [("/" + service_path + desc.get("flatPath", desc["path"]), False)]
                for proto in desc.get("mediaUpload", {}).get("protocols", {}).values():
                    templates.append((proto["path"], True))
                for template, upload in templates:
                    regex, names, literal = _compile(template)
                    spec = MethodSpec(
                        api=api,
                        method_id=desc["id"],
                        http_method=desc["httpMethod"],
                        template=template,
                        regex=regex,
                        param_names=names,
                        literal_len=literal,
                        desc=desc,
                        upload=upload,
                    )
                    self.specs.append(spec)
                    self.by_id.setdefault(desc["id"], spec)
        self.specs.sort(key=lambda s: -s.literal_len)

    # -- routing ---------------------------------------------------------------------------
    def match(self, http_method: str, raw_path: str) -> tuple[MethodSpec, dict[str, str]] | None:
        """Most specific method whose template matches the still percent-encoded path."""
        for spec in self.specs:
            if spec.http_method != http_method:
                continue
            m = spec.regex.match(raw_path)
            if m:
                return spec, {n: unquote(v) for n, v in zip(spec.param_names, m.groups(), strict=True)}
        return None

    def path_exists(self, raw_path: str) -> bool:
        return any(spec.regex.match(raw_path) for spec in self.specs)

    # -- query parameters ------------------------------------------------------------------
    def check_query(
        self, spec: MethodSpec, query: dict[str, list[str]], path_params: dict[str, str]
    ) -> list[str]:
        problems: list[str] = []
        params: dict[str, Any] = spec.desc.get("parameters", {})
        for name, values in query.items():
            if name in STANDARD_PARAMS or (spec.upload and name in UPLOAD_PARAMS):
                allowed = STANDARD_ENUMS.get(name)
                if allowed and any(v not in allowed for v in values):
                    problems.append(f"invalid value {values!r} for standard parameter {name!r}")
                if name == "alt" and "media" in values and not spec.supports_media_download:
                    problems.append(f"{spec.method_id} does not support alt=media")
                continue
            p = params.get(name)
            if p is None or p.get("location") != "query":
                problems.append(
                    f'Unknown name "{name}": Cannot bind query parameter. '
                    f"Field '{name}' could not be found in request message."
                )
                continue
            if len(values) > 1 and not p.get("repeated"):
                problems.append(f"query parameter {name!r} is not repeated but was sent {len(values)} times")
            for v in values:
                problems.extend(_check_scalar(name, v, p))
        for name, p in params.items():
            if not p.get("required"):
                continue
            if p.get("location") == "path":
                if not path_params.get(name):
                    problems.append(f"missing required path parameter {name!r}")
            elif name not in query:
                problems.append(f"missing required query parameter {name!r}")
        return problems

    # -- bodies ----------------------------------------------------------------------------
    def request_schema(self, spec: MethodSpec) -> str | None:
        ref = spec.desc.get("request", {}).get("$ref")
        return ref

    def check_body(self, spec: MethodSpec, body: Any) -> list[str]:
        ref = self.request_schema(spec)
        if ref is None:
            return []
        problems: list[str] = []
        _check_value(self.docs[spec.api]["schemas"], body, {"$ref": ref}, "", problems)
        return problems

    # -- partial responses -----------------------------------------------------------------
    def check_fields(self, spec: MethodSpec, mask: dict[str, Any] | None) -> list[str]:
        """Field names in a `fields` mask that the response schema does not have."""
        ref = spec.desc.get("response", {}).get("$ref")
        if ref is None or mask is None:
            return []
        problems: list[str] = []
        _check_mask(self.docs[spec.api]["schemas"], mask, {"$ref": ref}, "", problems)
        return problems


def _check_scalar(name: str, value: str, p: dict[str, Any]) -> list[str]:
    kind = p.get("type", "string")
    if kind == "boolean":
        # requests renders Python True as "True"; Google's parser is case-insensitive here.
        if value.lower() not in ("true", "false"):
            return [f"Invalid value '{value}' for boolean parameter {name!r}"]
    elif kind == "integer":
        try:
            n = int(value)
        except ValueError:
            return [f"Invalid value '{value}' for integer parameter {name!r}"]
        lo, hi = p.get("minimum"), p.get("maximum")
        if (lo is not None and n < int(lo)) or (hi is not None and n > int(hi)):
            return [f"Invalid value '{value}'. Values must be within the range: [{lo}, {hi}] ({name})"]
    elif kind == "number":
        try:
            float(value)
        except ValueError:
            return [f"Invalid value '{value}' for number parameter {name!r}"]
    enum = p.get("enum")
    if enum and value not in enum:
        return [f"Invalid value '{value}' for parameter {name!r}: must be one of {enum}"]
    return []


def _resolve(schemas: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = schemas[schema["$ref"]]
    return schema


def _check_value(
    schemas: dict[str, Any], value: Any, schema: dict[str, Any], where: str, out: list[str]
) -> None:
    if value is None:
        return  # proto3 JSON: null means "unset" (gspread sends "majorDimension": null)
    schema = _resolve(schemas, schema)
    kind = schema.get("type", "any")
    label = where or "<body>"
    if kind == "any":
        return
    if kind == "object":
        if not isinstance(value, dict):
            out.append(f"{label}: expected an object, got {type(value).__name__}")
            return
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key, sub in value.items():
            child = f"{where}.{key}" if where else key
            if props is not None and key in props:
                _check_value(schemas, sub, props[key], child, out)
            elif extra is not None:
                _check_value(schemas, sub, extra, child, out)
            else:
                out.append(
                    f"Invalid JSON payload received. Unknown name \"{key}\" at '{label}': Cannot find field."
                )
        return
    if kind == "array":
        if not isinstance(value, list):
            out.append(f"{label}: expected an array, got {type(value).__name__}")
            return
        for i, item in enumerate(value):
            _check_value(schemas, item, schema.get("items", {}), f"{where}[{i}]", out)
        return
    if kind == "string":
        fmt = schema.get("format")
        if not isinstance(value, str):
            # int64/uint64 are strings in discovery (JSON numbers lose precision past 2^53).
            extra_note = f" (format {fmt} is sent as a JSON string)" if fmt else ""
            out.append(f"{label}: expected a string{extra_note}, got {type(value).__name__} {value!r}")
            return
        if fmt in ("int64", "uint64"):
            try:
                int(value)
            except ValueError:
                out.append(f"{label}: {value!r} is not a valid {fmt}")
        enum = schema.get("enum")
        if enum and value not in enum:
            out.append(f"{label}: invalid enum value {value!r}, expected one of {enum}")
        return
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            out.append(f"{label}: expected an integer ({schema.get('format', 'int32')}), got {value!r}")
        return
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            out.append(f"{label}: expected a number, got {value!r}")
        return
    if kind == "boolean" and not isinstance(value, bool):
        out.append(f"{label}: expected a boolean, got {value!r}")


def _check_mask(
    schemas: dict[str, Any], mask: dict[str, Any], schema: dict[str, Any], where: str, out: list[str]
) -> None:
    schema = _resolve(schemas, schema)
    if schema.get("type") == "array":
        schema = _resolve(schemas, schema.get("items", {}))
    props = schema.get("properties")
    if props is None:
        return  # maps and "any" accept every key
    for key, sub in mask.items():
        if key == "*":
            continue
        if key not in props:
            out.append(f"Invalid field selection {where + key}")
            continue
        if sub:
            _check_mask(schemas, sub, props[key], f"{where}{key}/", out)
