"""An adapter written from the protocol page alone: it checks every line the harness sends.

    python strict.py [--methods dma|all] [--name NAME] [--report FILE] [--exact-initialize]
                     -- SYSTEM...

It speaks `vfio-harness/1` as the page writes it and nothing more, and imports nothing of the
harness: the system it serves is another process (SYSTEM, e.g. `python -m harness serve`),
to which it forwards each call and whose answers it checks in turn. What it holds the harness
to, line by line:

- framing: one UTF-8 JSON object per `\\n`-terminated line, no duplicate keys, no batch, exactly
  the members `jsonrpc` ("2.0"), `id`, `method`, `params` (an object); one request at a time
  (nothing more is readable before it has answered);
- ids: integers counting up from 1 over this child's life;
- lifecycle: `initialize` first, once, with `protocol` and `defaults` (the page's members; `aw`
  only when it is not 64); with `--exact-initialize`, the line byte for byte the page's
  example; `reset` with the same defaults; after `shutdown`, end of file on stdin;
- calls: only methods this child listed; parameters by name, every one the method has that
  is not "the run's default" sent (a concrete default such as `map`'s `perm` always), none
  null; integers JSON integers in 0..2^64-1, booleans JSON booleans, choices as listed;
- the system's answers: the result type the page's table gives, or an error of code 1 (with
  a string `data.id`), 2 or -32601.

A breach is written to stderr as `PAGE: ...` and to the report file, and the adapter exits
with status 2, so that the scenario it happened in fails with that line in its report.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import subprocess
import sys
from pathlib import Path
from typing import Any, NoReturn

U64_MAX = (1 << 64) - 1
EXAMPLE = (
    b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocol":"vfio-harness/1",'
    b'"defaults":{"pgsize":4096,"limit":65535,"mode":"v2","reserved":"x86","mmio32":'
    b'{"base":3221225472,"size":671088640},"mmio64":{"base":1099511627776,"size":'
    b'1099511627776},"io":{"base":4096,"size":61440}}}}\n'
)

# (parameter, type, optional) per method, from harness.backend.Backend's signatures as the
# page names them: "int", "bool", "str" or a tuple of allowed strings. `optional` marks a
# parameter whose Python default is None ("the run's default": left out when None).
MODES, RESERVED = ("v1", "v2"), ("x86", "none")
WINDOWS, BARS, PERMS = (
    ("mmio32", "mmio64", "io"),
    ("mem32", "mem64", "io"),
    ("rw", "r", "w", "none"),
)
D, C, V = ("device", "str", False), ("container", "str", False), ("vector", "int", False)
SIGNATURES: dict[str, tuple[tuple[str, Any, bool], ...]] = {
    "container": (
        ("name", "str", False),
        ("mode", MODES, True),
        ("pgsize", "int", True),
        ("limit", "int", True),
        ("reserved", RESERVED, True),
        ("aw", "int", True),
    ),
    "window": (("kind", WINDOWS, False), ("base", "int", False), ("size", "int", False)),
    "device": (("name", "str", False), ("bdf", "str", False)),
    "device_bar": (
        D,
        ("index", "int", False),
        ("kind", BARS, False),
        ("size", "int", False),
        ("prefetch", "bool", False),
    ),
    "device_rom": (D, ("size", "int", False)),
    "device_msix": (
        D,
        ("vectors", "int", False),
        ("table_bar", "int", False),
        ("table_offset", "int", False),
        ("pba_bar", "int", False),
        ("pba_offset", "int", False),
    ),
    "attach": (D, C),
    "map": (
        C,
        ("iova", "int", False),
        ("vaddr", "int", False),
        ("size", "int", False),
        ("perm", PERMS, False),
    ),
    "unmap": (C, ("iova", "int", False), ("size", "int", False)),
    "unmap_all": (C, ("iova", "int", True), ("size", "int", True)),
    "alloc": (D,),
    "cfg_read": (D, ("offset", "int", False), ("size", "int", False)),
    "cfg_write": (D, ("offset", "int", False), ("value", "int", False), ("size", "int", False)),
    "msix_entry": (D, V, ("addr", "int", False), ("data", "int", False)),
    "msix_mask": (D, V),
    "msix_unmask": (D, V),
    "msix_enable": (D, ("on", "bool", False)),
    "msix_fmask": (D, ("on", "bool", False)),
    "irq": (D, V),
    "mmio_read": (D, ("bar", "int", False), ("offset", "int", False), ("size", "int", False)),
    "mmio_write": (
        D,
        ("bar", "int", False),
        ("offset", "int", False),
        ("value", "int", False),
        ("size", "int", False),
    ),
    "device_reset": (D,),
    "mappings": (C,),
    "mapped": (C,),
    "avail": (C,),
    "mapped_at": (C, ("iova", "int", False)),
    "translate": (C, ("iova", "int", False)),
    "bar_size": (D, ("index", "int", False)),
    "bar_gpa": (D, ("index", "int", False)),
    "rom_size": (D,),
    "rom_gpa": (D,),
    "msix_vectors": (D,),
    "msix_enabled": (D,),
    "msix_function_masked": (D,),
    "msix_masked": (D, V),
    "msix_pending": (D, V),
    "msix_delivered": (D, V),
    "msix_configured": (D,),
    "msix_last_addr": (D, V),
    "msix_last_data": (D, V),
    "command": (D,),
}
# The page's result table (v2 methods as the protocol page of the project documents them).
NULL = {
    "container",
    "window",
    "device",
    "device_bar",
    "device_rom",
    "device_msix",
    "attach",
    "map",
    "alloc",
    "cfg_write",
    "msix_entry",
    "msix_mask",
    "msix_unmask",
    "msix_enable",
    "msix_fmask",
    "irq",
    "mmio_write",
    "device_reset",
}
BOOLEAN = {"mapped_at", "msix_enabled", "msix_function_masked", "msix_masked", "msix_pending"}
DMA = [
    "container",
    "map",
    "unmap",
    "unmap_all",
    "mappings",
    "mapped",
    "avail",
    "mapped_at",
    "translate",
]
DEFAULTS = ("pgsize", "limit", "mode", "reserved", "mmio32", "mmio64", "io")


class Breach(Exception):
    """The harness (or the system) did something the page does not allow."""


def strict_object(line: bytes) -> dict[str, Any]:
    """One JSON object, duplicate keys refused; integers stay exact (Python's json)."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in items]
        if len(keys) != len(set(keys)):
            raise Breach(f"duplicate key in {line!r}")
        return dict(items)

    if not line.endswith(b"\n") or b"\n" in line[:-1]:
        raise Breach(f"not one newline-terminated line: {line!r}")
    try:
        value = json.loads(
            line.decode("utf-8"),
            object_pairs_hook=pairs,
            parse_float=lambda text: Breach(f"a non-integer number {text}"),
            parse_constant=lambda text: Breach(f"{text} is not JSON"),
        )
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise Breach(f"not a UTF-8 JSON line ({error}): {line!r}") from None
    if not isinstance(value, dict):
        raise Breach(f"not one JSON object (a batch?): {line!r}")
    return value


def check_value(method: str, name: str, kind: Any, value: Any) -> None:
    """A parameter's value has its type."""
    if isinstance(value, Breach):
        raise value
    if kind == "int":
        if type(value) is not int or not 0 <= value <= U64_MAX:
            raise Breach(f"{method}.{name} = {value!r} is not an integer in 0..2^64-1")
    elif kind == "bool":
        if type(value) is not bool:
            raise Breach(f"{method}.{name} = {value!r} is not a boolean")
    elif kind == "str":
        if type(value) is not str:
            raise Breach(f"{method}.{name} = {value!r} is not a string")
    elif value not in kind:
        raise Breach(f"{method}.{name} = {value!r} is not one of {kind}")


def check_defaults(defaults: Any) -> None:
    """The `defaults` member as the page describes it."""
    if not isinstance(defaults, dict):
        raise Breach(f"defaults is not an object: {defaults!r}")
    keys = set(defaults)
    if not set(DEFAULTS) <= keys <= set(DEFAULTS) | {"aw"}:
        raise Breach(f"defaults has members {sorted(keys)}")
    if "aw" in defaults and defaults["aw"] == 64:
        raise Breach("defaults.aw sent although it is 64")
    for key in ("pgsize", "limit", "aw"):
        if key in defaults:
            check_value("defaults", key, "int", defaults[key])
    check_value("defaults", "mode", MODES, defaults["mode"])
    check_value("defaults", "reserved", RESERVED, defaults["reserved"])
    for window in WINDOWS:
        spec = defaults[window]
        if not isinstance(spec, dict) or set(spec) != {"base", "size"}:
            raise Breach(f"defaults.{window} is {spec!r}")
        for key in ("base", "size"):
            check_value("defaults", f"{window}.{key}", "int", spec[key])


class Adapter:
    """The state the page gives a child: the next id, its methods, the run's defaults."""

    def __init__(
        self,
        methods: list[str],
        name: str | None,
        exact: bool,
        report: Path | None,
        system: list[str],
    ) -> None:
        self.listed = methods
        self.name = name
        self.exact = exact
        self.report = report
        self.next_id = 1
        self.defaults: Any = None
        self.buffer = b""
        self.eof = False
        self.system = subprocess.Popen(system, stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def breach(self, text: str) -> NoReturn:
        sys.stderr.write(f"PAGE: {text}\n")
        sys.stderr.flush()
        if self.report is not None:
            with self.report.open("a") as report:
                report.write(f"{text}\n")
        self.system.kill()
        os._exit(2)

    def forward(self, line: bytes) -> bytes:
        assert self.system.stdin is not None and self.system.stdout is not None
        self.system.stdin.write(line)
        self.system.stdin.flush()
        return self.system.stdout.readline()

    def check_request(self, line: bytes) -> dict[str, Any]:
        message = strict_object(line)
        if set(message) != {"jsonrpc", "id", "method", "params"}:
            raise Breach(f"request members {sorted(message)}")
        if message["jsonrpc"] != "2.0":
            raise Breach(f"jsonrpc is {message['jsonrpc']!r}")
        if type(message["id"]) is not int or message["id"] != self.next_id:
            raise Breach(f"id {message['id']!r}, expected {self.next_id}")
        self.next_id += 1
        if not isinstance(message["params"], dict):
            raise Breach(f"params is not an object: {line!r}")
        return message

    def fill(self, timeout: float | None) -> bool:
        """Read what stdin holds into the buffer, waiting up to `timeout`; False at EOF."""
        if self.eof:
            return False
        if select.select([0], [], [], timeout)[0]:
            chunk = os.read(0, 1 << 16)
            self.eof = not chunk
            self.buffer += chunk
            return bool(chunk)
        return True

    def readline(self) -> bytes:
        while b"\n" not in self.buffer and self.fill(None):
            pass
        line, newline, self.buffer = self.buffer.partition(b"\n")
        return line + newline

    def outstanding(self, method: str) -> None:
        """One request at a time: nothing more may have come before this one is answered."""
        self.fill(0)
        if self.buffer:
            raise Breach(f"a second request arrived before {method} was answered: {self.buffer!r}")

    def check_call(self, method: str, params: dict[str, Any]) -> None:
        if method not in self.listed:
            raise Breach(f"{method} sent although this child did not list it")
        signature = SIGNATURES[method]
        names = {name for name, _, _ in signature}
        if not set(params) <= names:
            raise Breach(f"{method} got unknown parameters {sorted(set(params) - names)}")
        for name, kind, optional in signature:
            if name not in params:
                if not optional:
                    raise Breach(f"{method} without {name} (only None may be left out)")
                continue
            check_value(method, name, kind, params[name])

    def check_answer(self, method: str, request_id: int, answer: bytes) -> None:
        message = strict_object(answer)
        if message.get("id") != request_id or message.get("jsonrpc") != "2.0":
            raise Breach(f"the system answered {answer!r} to request {request_id}")
        if "error" in message:
            code = message["error"].get("code")
            if code == 1 and type(message["error"].get("data", {}).get("id")) is str:
                return
            if code in (2, -32601):
                return
            raise Breach(f"the system answered {method} with {answer!r}")
        result = message.get("result")
        if method in NULL or method in ("reset", "shutdown"):
            ok = result is None
        elif method in BOOLEAN:
            ok = type(result) is bool
        elif method == "initialize":
            ok = isinstance(result, dict)
        else:
            ok = type(result) is int and 0 <= result <= U64_MAX
        if not ok:
            raise Breach(f"the system answered {method} with {answer!r}")

    def run(self) -> int:
        while True:
            line = self.readline()
            if not line:
                # End of file: the harness is done (or gone). The page: exit.
                self.system.stdin.close()  # type: ignore[union-attr]
                self.system.wait()
                return 0
            try:
                message = self.check_request(line)
                method, params = message["method"], message["params"]
                if self.next_id == 2:
                    self.first(method, params, line)
                elif method == "initialize":
                    raise Breach("initialize sent twice to one child")
                elif method == "reset":
                    if set(params) != {"defaults"}:
                        raise Breach(f"reset params {sorted(params)}")
                    check_defaults(params["defaults"])
                    if params["defaults"] != self.defaults:
                        raise Breach("reset defaults differ from initialize's")
                elif method == "shutdown":
                    if params != {}:
                        raise Breach(f"shutdown params {params!r}")
                else:
                    self.check_call(method, params)
                answer = self.forward(line)
                self.check_answer(method, message["id"], answer)
                if method == "initialize":
                    answer = self.handshake(answer)
                self.outstanding(method)
            except Breach as breach:
                self.breach(str(breach))
            sys.stdout.buffer.write(answer)
            sys.stdout.buffer.flush()
            if method == "shutdown":
                return self.after_shutdown()

    def first(self, method: str, params: dict[str, Any], line: bytes) -> None:
        if method != "initialize":
            raise Breach(f"the first request is {method}, not initialize")
        if set(params) != {"protocol", "defaults"} or params["protocol"] != "vfio-harness/1":
            raise Breach(f"initialize params {params!r}")
        check_defaults(params["defaults"])
        if self.exact and line != EXAMPLE:
            raise Breach(f"initialize is not the page's example byte for byte: {line!r}")
        self.defaults = params["defaults"]

    def handshake(self, answer: bytes) -> bytes:
        """The system's answer, naming only the methods this child lists (and `--name`)."""
        message = json.loads(answer)
        result = message["result"]
        missing = [m for m in self.listed if m not in result["methods"]]
        if missing:
            self.breach(f"the system lacks {missing}")
        if self.name is not None:
            result["name"] = self.name
        result["methods"] = self.listed
        return (json.dumps(message, separators=(",", ":")) + "\n").encode()

    def after_shutdown(self) -> int:
        """The page: after `shutdown` the harness closes stdin (within the 5 s grace)."""
        ready = select.select([0], [], [], 4.5)[0]
        if not ready:
            self.breach("stdin still open 4.5 s after shutdown was answered")
        while self.fill(None):
            pass
        rest = self.buffer
        if rest:
            self.breach(f"a line after shutdown: {rest!r}")
        self.system.stdin.close()  # type: ignore[union-attr]
        self.system.wait()
        return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--methods", choices=("dma", "all"), default="all")
    parser.add_argument("--name")
    parser.add_argument("--report", type=Path)
    parser.add_argument("--exact-initialize", action="store_true")
    parser.add_argument("system", nargs="+")
    args = parser.parse_args()
    methods = DMA if args.methods == "dma" else list(SIGNATURES)
    return Adapter(methods, args.name, args.exact_initialize, args.report, args.system).run()


if __name__ == "__main__":
    sys.exit(main())
