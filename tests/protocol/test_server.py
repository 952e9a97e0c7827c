"""The server (`harness/protocol/server.py`): any BackendSession answering the protocol."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Mapping
from typing import Any, ClassVar

from harness.backend import Backend, CoreDefaults, Unsupported
from harness.model import ModelBackend
from harness.protocol import wire
from harness.protocol.lifecycle import defaults_to_wire
from harness.protocol.methods import METHODS
from harness.protocol.model_server import ModelSession
from harness.protocol.server import serve
from harness.vfio.catalog import ErrorId, VfioError

DEFAULTS = defaults_to_wire(CoreDefaults())
INITIALIZE = {"protocol": "vfio-harness/1", "defaults": DEFAULTS}


def exchange(open_session: Any, *requests: tuple[str, Mapping[str, Any]] | bytes) -> list[Any]:
    """Serve the requests (method, params) or raw lines; the decoded answers, in order."""
    lines = [
        r if isinstance(r, bytes) else wire.request(i, r[0], r[1])
        for i, r in enumerate(requests, start=1)
    ]
    stdout = io.BytesIO()
    assert serve(open_session, io.BytesIO(b"".join(lines)), stdout) == 0
    return [json.loads(line) for line in stdout.getvalue().splitlines()]


def test_initialize_answers_name_protocol_and_every_method() -> None:
    (answer,) = exchange(ModelSession, ("initialize", INITIALIZE))
    assert answer == {
        "jsonrpc": "2.0",
        "id": 1,
        "result": {"name": "model", "protocol": "vfio-harness/1", "methods": list(METHODS)},
    }


def test_a_declared_failure_is_code_1_with_the_catalog_id() -> None:
    answers = exchange(
        ModelSession,
        ("initialize", INITIALIZE),
        ("container", {"name": "c0"}),
        ("map", {"container": "c0", "iova": 0x100000, "vaddr": 0x7F0000000000, "size": 0x2000}),
        ("map", {"container": "c0", "iova": 0x101000, "vaddr": 0x7F0000000000, "size": 0x1000}),
        ("mapped", {"container": "c0"}),
    )
    assert [a.get("result") for a in answers[1:3]] == [None, None]
    error = answers[3]["error"]
    assert error["code"] == 1 and error["data"] == {"id": "dma.map.failed:overlap"}
    assert answers[4]["result"] == 0x2000  # the failed map changed nothing


def test_reset_discards_all_state() -> None:
    answers = exchange(
        ModelSession,
        ("initialize", INITIALIZE),
        ("container", {"name": "c0"}),
        ("reset", {"defaults": DEFAULTS}),
        ("container", {"name": "c0"}),
    )
    assert answers[2]["result"] is None and answers[3]["result"] is None


class Recording:
    """A session that records its lifecycle, with a backend that fails in chosen ways."""

    opened: ClassVar[list[CoreDefaults]] = []
    closed: ClassVar[int] = 0

    name = "rec"
    info: Mapping[str, str] = {"kernel": "6.12.0"}
    methods = frozenset({"container", "map", "unmap", "mappings"})

    def __init__(self, defaults: CoreDefaults) -> None:
        Recording.opened.append(defaults)

    def fresh(self) -> Backend:
        return _Failing()  # type: ignore[return-value]

    def close(self) -> None:
        Recording.closed += 1


class _Failing:
    def container(self, name: str, **options: Any) -> None:
        raise Unsupported("no IOMMU group is free")

    def map(self, container: str, iova: int, vaddr: int, size: int, perm: str = "rw") -> None:
        error = VfioError(ErrorId.DMA_MAP_OVERLAP, "EEXIST from the kernel")
        error.errno = 17  # type: ignore[attr-defined]
        raise error

    def unmap(self, container: str, iova: int, size: int) -> int:
        raise RuntimeError("the VMM lost its state")

    def mappings(self, container: str) -> int:
        return True  # a bool is not an integer on the wire


def test_errors_map_to_codes_and_the_server_stays_in_service() -> None:
    Recording.opened, Recording.closed = [], 0
    answers = exchange(
        Recording,
        ("initialize", INITIALIZE),
        ("container", {"name": "c0"}),
        ("map", {"container": "c0", "iova": 0, "vaddr": 0, "size": 4096}),
        ("unmap", {"container": "c0", "iova": 0, "size": 4096}),
        ("mappings", {"container": "c0"}),
        ("cfg_read", {"device": "d", "offset": 0}),
        ("shutdown", {}),
    )
    assert answers[0]["result"]["info"] == {"kernel": "6.12.0"}
    assert answers[0]["result"]["methods"] == ["container", "map", "unmap", "mappings"]
    errors = [a["error"] for a in answers[1:6]]
    assert errors[0] == {"code": 2, "message": "no IOMMU group is free"}
    assert errors[1] == {
        "code": 1,
        "message": "EEXIST from the kernel",
        "data": {"id": "dma.map.failed:overlap", "errno": 17},
    }
    assert errors[2] == {
        "code": -32603,
        "message": "unmap raised RuntimeError: the VMM lost its state",
    }
    assert errors[3] == {
        "code": -32603,
        "message": "mappings raised TypeError: mappings returned True, not an integer in 0..2^64-1",
    }
    assert errors[4] == {"code": -32601, "message": "method not found: cfg_read"}
    assert answers[6] == {"jsonrpc": "2.0", "id": 7, "result": None}
    assert Recording.closed == 1


def test_reset_with_other_defaults_reopens_the_session() -> None:
    Recording.opened, Recording.closed = [], 0
    other = defaults_to_wire(CoreDefaults(pgsize=65536))
    exchange(
        Recording,
        ("initialize", INITIALIZE),
        ("reset", {"defaults": DEFAULTS}),
        ("reset", {"defaults": other}),
    )
    assert [d.pgsize for d in Recording.opened] == [4096, 65536]
    assert Recording.closed == 2  # the first when reopening, the second at end of input


def test_params_are_validated_against_the_method_table() -> None:
    answers = exchange(
        ModelSession,
        ("initialize", INITIALIZE),
        ("map", {"container": "c0", "iova": -1, "vaddr": 0, "size": 4096}),
        ("map", {"container": "c0", "iova": 0, "vaddr": 0, "size": 4096, "perm": "x"}),
        ("map", {"container": "c0", "iova": 0, "vaddr": 0}),
        ("map", {"container": "c0", "iova": 0, "vaddr": 0, "size": 1, "flags": 0}),
        ("msix_enable", {"device": "d", "on": 1}),
    )
    messages = [(a["error"]["code"], a["error"]["message"]) for a in answers[1:]]
    assert messages == [
        (-32602, "map: 'iova' must be an integer in 0..2^64-1"),
        (-32602, 'map: \'perm\' must be one of "rw", "r", "w", "none"'),
        (-32602, "map needs 'size'"),
        (-32602, "map has no parameter 'flags'"),
        (-32602, "msix_enable: 'on' must be a boolean"),
    ]


def test_requests_before_initialize_and_bad_protocols_are_refused() -> None:
    answers = exchange(
        ModelSession,
        ("mappings", {"container": "c0"}),
        ("initialize", {"protocol": "vfio-harness/2", "defaults": DEFAULTS}),
        ("initialize", {"protocol": "vfio-harness/1", "defaults": {"pgsize": 1}}),
        b"not json\n",
    )
    assert [(a["id"], a["error"]["code"]) for a in answers] == [
        (1, -32600),
        (2, -32602),
        (3, -32602),
        (None, -32700),
    ]
    assert answers[0]["error"]["message"] == "mappings before initialize"


def test_the_model_server_matches_the_model_in_process() -> None:
    backend = ModelBackend()
    backend.container("c0")
    backend.map("c0", 0x0, 0x7F0000000000, 0x10000)
    expected = backend.unmap("c0", 0x0, 0x10000)
    answers = exchange(
        ModelSession,
        ("initialize", INITIALIZE),
        ("container", {"name": "c0"}),
        ("map", {"container": "c0", "iova": 0, "vaddr": 0x7F0000000000, "size": 0x10000}),
        ("unmap", {"container": "c0", "iova": 0, "size": 0x10000}),
    )
    assert answers[3]["result"] == expected


def test_python_m_harness_serve_answers_on_stdio_and_ends_at_shutdown() -> None:
    lines = wire.request(1, "initialize", INITIALIZE) + wire.request(2, "shutdown", {})
    done = subprocess.run(
        [sys.executable, "-m", "harness", "serve"],
        input=lines,
        capture_output=True,
        timeout=60,
        check=True,
    )
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert answers[0]["result"]["name"] == "model" and answers[1]["result"] is None
    assert done.stderr == b""


def test_serve_ends_quietly_at_end_of_input() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "harness", "serve"],
        input=wire.request(1, "initialize", INITIALIZE),
        capture_output=True,
        timeout=60,
    )
    assert (done.returncode, done.stderr) == (0, b"")
