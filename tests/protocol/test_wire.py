"""The wire form (`harness/protocol/wire.py`): framing, exact integers, strict decoding."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.protocol import wire
from harness.vfio.address import U64_MAX


def test_request_is_one_compact_line_with_params_by_name() -> None:
    line = wire.request(7, "map", {"container": "c0", "iova": 1052672, "size": 4096})
    assert line == (
        b'{"jsonrpc":"2.0","id":7,"method":"map",'
        b'"params":{"container":"c0","iova":1052672,"size":4096}}\n'
    )


def test_request_keeps_non_ascii_names_as_utf8() -> None:
    line = wire.request(1, "device", {"name": "gpü", "bdf": "0000:01:00.0"})
    assert "gpü".encode() in line and line.count(b"\n") == 1


@given(st.integers(min_value=0, max_value=U64_MAX))
def test_integers_round_trip_exactly(value: int) -> None:
    # Never through a double: 2^64-1 and 2^53+1 survive unchanged.
    line = wire.response(3, value)
    assert wire.decode_response(line, 3).result == value


def test_integer_above_2_53_is_read_exactly() -> None:
    line = b'{"jsonrpc":"2.0","id":1,"result":18446744073709551615}\n'
    assert wire.decode_response(line, 1).result == U64_MAX


def test_error_response_is_decoded_with_its_data() -> None:
    line = (
        b'{"jsonrpc":"2.0","id":7,"error":{"code":1,"message":"overlaps [0x100000, 0x101fff]",'
        b'"data":{"id":"dma.map.failed:overlap"}}}\n'
    )
    response = wire.decode_response(line, 7)
    assert response.error == wire.ErrorObject(
        1, "overlaps [0x100000, 0x101fff]", {"id": "dma.map.failed:overlap"}
    )


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"garbage\n", "not JSON (Expecting value at column 1)"),
        (b"\n", "an empty line"),
        (b"\xff\xfe\n", "not UTF-8 (byte 0)"),
        (b"[]\n", "a batch, not one JSON object"),
        (b"42\n", "a JSON integer, not one JSON object"),
        (b'{"jsonrpc":"1.0","id":1,"result":null}', '"jsonrpc" is not "2.0"'),
        (b'{"jsonrpc":"2.0","result":null}', 'no "id"'),
        (b'{"jsonrpc":"2.0","id":2,"result":null}', "a response with id 2 to request 1"),
        (b'{"jsonrpc":"2.0","id":null,"result":null}', "a response with id null to request 1"),
        (b'{"jsonrpc":"2.0","id":true,"result":null}', "a response with id true to request 1"),
        (b'{"jsonrpc":"2.0","id":1.0,"result":null}', "a response with id 1.0 to request 1"),
        (b'{"jsonrpc":"2.0","id":1}', 'a response needs exactly one of "result" and "error"'),
        (
            b'{"jsonrpc":"2.0","id":1,"result":1,"error":{"code":1,"message":"x"}}',
            'a response needs exactly one of "result" and "error"',
        ),
        (b'{"jsonrpc":"2.0","id":1,"result":1,"extra":0}', 'unknown member "extra"'),
        (b'{"jsonrpc":"2.0","id":1,"id":1,"result":1}', 'duplicate key "id"'),
        (b'{"jsonrpc":"2.0","id":1,"result":NaN}', "NaN is not JSON"),
        (b'{"jsonrpc":"2.0","id":1,"error":"bad"}', '"error" is a JSON string, not an object'),
        (b'{"jsonrpc":"2.0","id":1,"error":{"message":"x"}}', '"error" has no integer "code"'),
        (b'{"jsonrpc":"2.0","id":1,"error":{"code":1}}', '"error" has no string "message"'),
        (
            b'{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"x","why":0}}',
            'unknown member "why" in "error"',
        ),
    ],
)
def test_decode_response_fails_with_a_reason(line: bytes, reason: str) -> None:
    with pytest.raises(wire.WireError) as caught:
        wire.decode_response(line, 1)
    assert caught.value.reason == reason


def test_quote_cuts_at_200_characters_without_the_newline() -> None:
    assert wire.quote(b"x" * 250 + b"\n") == "x" * 200 + "…"
    assert wire.quote(b"short\r\n") == "short"
    assert wire.quote(b"\xffbad") == "\ufffdbad"


def test_decode_request_reads_method_and_params() -> None:
    request = wire.decode_request(b'{"jsonrpc":"2.0","id":4,"method":"mapped","params":{"c":1}}')
    assert request == wire.Request(4, "mapped", {"c": 1})


def test_decode_request_allows_params_to_be_left_out() -> None:
    assert wire.decode_request(b'{"jsonrpc":"2.0","id":9,"method":"shutdown"}').params == {}


@pytest.mark.parametrize(
    ("line", "request_id", "code"),
    [
        (b"{", None, wire.PARSE_ERROR),
        (b'{"jsonrpc":"2.0","method":"x"}', None, wire.INVALID_REQUEST),
        (b'{"jsonrpc":"2.0","id":"1","method":"x"}', None, wire.INVALID_REQUEST),
        (b'{"id":3,"method":"x"}', 3, wire.INVALID_REQUEST),
        (b'{"jsonrpc":"2.0","id":3,"method":5}', 3, wire.INVALID_REQUEST),
        (b'{"jsonrpc":"2.0","id":3,"method":"x","params":[1]}', 3, wire.INVALID_PARAMS),
        (b'{"jsonrpc":"2.0","id":3,"method":"x","more":1}', 3, wire.INVALID_REQUEST),
    ],
)
def test_decode_request_fails_with_the_code_to_answer(
    line: bytes, request_id: int | None, code: int
) -> None:
    with pytest.raises(wire.RequestError) as caught:
        wire.decode_request(line)
    assert (caught.value.id, caught.value.code) == (request_id, code)


def test_error_response_leaves_out_absent_data() -> None:
    line = wire.error_response(None, wire.PARSE_ERROR, "not JSON")
    assert json.loads(line) == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32700, "message": "not JSON"},
    }
