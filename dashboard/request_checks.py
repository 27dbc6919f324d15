"""Malformed requests answer 400 with a message, never 500.

- Every callback request (`POST /_dash-update-component`) is checked against the app's callback
  map before Dash reads it: a JSON object naming a callback that exists, with as many outputs,
  inputs and states as that callback has, each naming the component and property it declares.
  Dash itself assumes all of this and fails with an IndexError or KeyError (a 500) when it is not so.
- Values that a callback cannot use (a year that is not a year, a list where a text is expected)
  raise `BadRequest` where they are parsed; it answers 400 with its message in Chinese and English.
- An output list that does not match what the callback returns (only a hand-made request can
  send one) answers 400 too.

Everything else that goes wrong inside a callback is a bug and stays a 500, logged with its traceback.
"""

from __future__ import annotations

import json
from typing import Any

import dash
from dash.exceptions import InvalidCallbackReturnValue
from flask import jsonify, request

from dashboard.inputs import BadRequest

CALLBACK_PATH = "/_dash-update-component"


def output_parts(key: str) -> list[tuple[Any, str]]:
    """(component id, property) of each output of a callback-map key: "id.prop", or
    "..id1.prop1...id2.prop2.." for several, each part possibly ending in "@<hash>"
    (allow_duplicate); a pattern id is its JSON object."""
    names = key[2:-2].split("...") if key.startswith("..") and key.endswith("..") else [key]
    out = []
    for name in names:
        ident, prop = name.split("@")[0].rsplit(".", 1)
        out.append((json.loads(ident) if ident.startswith("{") else ident, prop))
    return out


def _pattern_fits(pattern: dict, ident: object) -> bool:
    if not isinstance(ident, dict) or set(ident) != set(pattern):
        return False
    return all(isinstance(v, list) or ident[k] == v for k, v in pattern.items())  # ["ALL"], ["MATCH"] …


def _dep_problem(entry: object, dep: dict) -> str | None:
    declared = dep["id"]
    if declared.startswith("{"):
        pattern = json.loads(declared)
        items = entry if isinstance(entry, list) else [entry]
        for item in items:
            if not isinstance(item, dict) or not _pattern_fits(pattern, item.get("id")):
                return f"an entry for {declared}.{dep['property']} names another component"
            if item.get("property") != dep["property"]:
                return f"an entry for {declared} names property {item.get('property')!r}"
        return None
    if not isinstance(entry, dict) or entry.get("id") != declared or entry.get("property") != dep["property"]:
        return f"expected {declared}.{dep['property']}"
    return None


def envelope_problem(app: dash.Dash, body: object) -> str | None:
    """Why `body` is not a well-formed request for one of `app`'s callbacks, or None."""
    if not isinstance(body, dict):
        return "the request body is not a JSON object"
    key = body.get("output")
    if not isinstance(key, str) or key not in app.callback_map:
        return "the request names no callback of this page"
    cb = app.callback_map[key]
    if "callback" not in cb:  # a clientside callback (assets/*.js): it runs in the browser only
        return "the callback runs in the browser, not on the server"
    parts = output_parts(key)
    outputs = body.get("outputs")
    several = key.startswith("..")
    if several and (not isinstance(outputs, list) or len(outputs) != len(parts)):
        return f"the callback has {len(parts)} outputs"
    given_outputs: list = outputs if isinstance(outputs, list) and several else [outputs]
    for (ident, prop), out in zip(parts, given_outputs):
        items = out if isinstance(out, list) else [out]
        for item in items:
            # the renderer names an allow_duplicate output's property with its "@<hash>" suffix
            if not isinstance(item, dict) or str(item.get("property", "")).split("@")[0] != prop:
                return "an output names another property"
            if isinstance(ident, dict) and not _pattern_fits(ident, item.get("id")):
                return "an output names another component"
            if isinstance(ident, str) and item.get("id") != ident:
                return "an output names another component"
    for name in ("inputs", "state"):
        given, declared = body.get(name, []), cb.get(name, [])
        if not isinstance(given, list) or len(given) != len(declared):
            return f"the callback takes {len(declared)} {name}"
        for entry, dep in zip(given, declared):
            problem = _dep_problem(entry, dep)
            if problem:
                return f"{name}: {problem}"
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed):
        return "changedPropIds is not a list of texts"
    return None


def init_request_checks(app: dash.Dash) -> None:
    server = app.server

    @server.before_request
    def _callback_envelope():
        if request.path != CALLBACK_PATH or request.method != "POST":
            return None
        body = request.get_json(silent=True)
        problem = envelope_problem(app, body)
        if problem is None:
            return None
        return jsonify(error=f"请求格式无效 / malformed request: {problem}"), 400

    @server.errorhandler(BadRequest)
    def _bad_value(exc: BadRequest):
        return jsonify(error=str(exc)), 400

    @server.errorhandler(InvalidCallbackReturnValue)
    def _outputs_mismatch(_exc):
        return jsonify(error="请求的输出与页面不符 / the request's outputs do not match the page"), 400
