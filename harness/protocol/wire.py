"""The wire form of `vfio-harness/1`: JSON-RPC 2.0, one object per `\\n`-terminated UTF-8 line.

Both directions are here: `request()` and `decode_response()` for the harness (the client), and
`decode_request()` and `response()`/`error_response()` for a child (the server). Decoding is
strict, because a lenient reader would let a broken adapter pass scenarios:

- a line is one JSON object in UTF-8; no batches, no duplicate keys, no NaN or Infinity;
- integers are read exactly (Python's `json` never goes through a double for them); a number
  with a fraction or an exponent is not an integer, and neither is `true`;
- a response has exactly `jsonrpc: "2.0"`, the request's `id`, and one of `result` or `error`;
  an error has an integer `code`, a string `message` and optionally `data`.

Every violation raises `WireError` with a reason a person can act on; the client quotes the
offending line next to it (cut at `QUOTE_LIMIT` characters).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# JSON-RPC 2.0's reserved codes, and the protocol's own.
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
DECLARED_FAILURE = 1  # the system under test failed the way the scenario can declare: data.id
UNSUPPORTED = 2  # (extension) the method exists but cannot honour these arguments

QUOTE_LIMIT = 200  # characters of an offending line quoted in a report
STDERR_LINES = 50  # lines of a child's stderr the harness keeps to show under a failure


class WireError(Exception):
    """A line that breaks the protocol; `reason` says how."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def quote(line: bytes | str) -> str:
    """The line as shown in a message: decoded leniently, without its newline, cut at 200."""
    text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
    text = text.rstrip("\r\n")
    return text if len(text) <= QUOTE_LIMIT else text[:QUOTE_LIMIT] + "…"


def encode(message: Mapping[str, Any]) -> bytes:
    """One message as a line: compact JSON, UTF-8, `\\n`-terminated."""
    return (_ENCODER.encode(message) + "\n").encode()


def request(request_id: int, method: str, params: Mapping[str, Any]) -> bytes:
    """A request line (params always an object)."""
    # The hot path of every call: only the params need the encoder (method names are
    # identifiers); the same bytes as encode() of the whole message.
    line = f'{{"jsonrpc":"2.0","id":{request_id},"method":"{method}","params":'
    return (line + _ENCODER.encode(params) + "}\n").encode()


def response(request_id: int | None, result: Any) -> bytes:
    """A success response line."""
    if type(request_id) is int and (result is None or type(result) in (int, bool)):
        # The hot path of a server: a scalar result needs no encoder.
        value = "null" if result is None else ("true" if result is True else "false")
        if type(result) is int:
            value = str(result)
        return f'{{"jsonrpc":"2.0","id":{request_id},"result":{value}}}\n'.encode()
    return encode({"jsonrpc": "2.0", "id": request_id, "result": result})


def error_response(
    request_id: int | None, code: int, message: str, data: Mapping[str, Any] | None = None
) -> bytes:
    """An error response line (`data` left out when None)."""
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = dict(data)
    return encode({"jsonrpc": "2.0", "id": request_id, "error": error})


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise WireError(f'duplicate key "{key}"')
        obj[key] = value
    return obj


def _no_constant(name: str) -> Any:
    raise WireError(f"{name} is not JSON")


# Built once: json.dumps/json.loads with options build a new coder on every call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constant)


def decode_object(line: bytes) -> dict[str, Any]:
    """A line as a JSON object, strictly (see the module docstring)."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as error:
        raise WireError(f"not UTF-8 (byte {error.start})") from None
    if not text.strip():
        raise WireError("an empty line")
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as error:
        raise WireError(f"not JSON ({error.msg} at column {error.colno})") from None
    if not isinstance(value, dict):
        kind = "a batch" if isinstance(value, list) else f"a JSON {json_type(value)}"
        raise WireError(f"{kind}, not one JSON object")
    return value


def json_type(value: object) -> str:
    """The JSON type of a decoded value, for messages (`integer`, `number`, `string`, ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


@dataclass(frozen=True, slots=True)
class ErrorObject:
    """A response's `error` member."""

    code: int
    message: str
    data: Any = None


@dataclass(frozen=True, slots=True)
class Response:
    """A decoded response: `error` is None for a success, `result` is then the result."""

    result: Any
    error: ErrorObject | None


def decode_response(line: bytes, request_id: int) -> Response:
    """The response to request `request_id`, validated (its result's type is the caller's)."""
    message = decode_object(line)
    if message.get("jsonrpc") != "2.0":
        raise WireError('"jsonrpc" is not "2.0"')
    if "id" not in message:
        raise WireError('no "id"')
    got = message["id"]
    if type(got) is not int or got != request_id:
        raise WireError(f"a response with id {json.dumps(got)} to request {request_id}")
    extra = sorted(set(message) - {"jsonrpc", "id", "result", "error"})
    if extra:
        raise WireError(f'unknown member "{extra[0]}"')
    if ("result" in message) == ("error" in message):
        raise WireError('a response needs exactly one of "result" and "error"')
    if "result" in message:
        return Response(message["result"], None)
    error = message["error"]
    if not isinstance(error, dict):
        raise WireError(f'"error" is a JSON {json_type(error)}, not an object')
    code, text = error.get("code"), error.get("message")
    if type(code) is not int:
        raise WireError('"error" has no integer "code"')
    if type(text) is not str:
        raise WireError('"error" has no string "message"')
    extra = sorted(set(error) - {"code", "message", "data"})
    if extra:
        raise WireError(f'unknown member "{extra[0]}" in "error"')
    return Response(None, ErrorObject(code, text, error.get("data")))


@dataclass(frozen=True, slots=True)
class Request:
    """A decoded request (what a child receives)."""

    id: int
    method: str
    params: dict[str, Any]


class RequestError(Exception):
    """A request a server must answer with an error: the id (None if unknown) and the code."""

    def __init__(self, request_id: int | None, code: int, message: str) -> None:
        super().__init__(message)
        self.id = request_id
        self.code = code
        self.message = message


def decode_request(line: bytes) -> Request:
    """A request, validated; `RequestError` carries the JSON-RPC error to answer with."""
    try:
        message = decode_object(line)
    except WireError as error:
        raise RequestError(None, PARSE_ERROR, error.reason) from None
    raw_id = message.get("id")
    request_id = raw_id if type(raw_id) is int else None
    if message.get("jsonrpc") != "2.0":
        raise RequestError(request_id, INVALID_REQUEST, '"jsonrpc" is not "2.0"')
    if request_id is None:
        # Notifications (no id) are not part of the protocol: every request is answered.
        raise RequestError(None, INVALID_REQUEST, '"id" must be an integer')
    method = message.get("method")
    if type(method) is not str:
        raise RequestError(request_id, INVALID_REQUEST, '"method" must be a string')
    params = message.get("params", {})
    if not isinstance(params, dict):
        raise RequestError(request_id, INVALID_PARAMS, '"params" must be an object')
    extra = sorted(set(message) - {"jsonrpc", "id", "method", "params"})
    if extra:
        raise RequestError(request_id, INVALID_REQUEST, f'unknown member "{extra[0]}"')
    return Request(request_id, method, params)
