"""A test adapter: the model over the protocol, misbehaving in one chosen way on one method.

    python faulty.py ACTION METHOD [--once FLAG] [--pids FILE]

ACTION is one of: crash (exit 3 after a non-ASCII stderr line), signal (SIGKILL itself),
garbage (a line that is not JSON), wrong-id, wrong-type, hang, not-found (-32601),
unsupported (code 2), close-stdout, bad-protocol and no-methods (wrong `initialize` answers),
extra-member (an `initialize` answer with a member the page does not name),
few-methods (on initialize: lists five DMA methods only), errno (adds data.errno 17 to a
declared failure), chatty (80 stderr lines, then exit 1), grandchild (starts a `sleep` in its
group and answers normally), ok (never misbehaves).
With `--once FLAG` it misbehaves only while the file FLAG does not exist, and creates it, so
the next child started behaves. With `--pids FILE` it appends its pid (and its grandchild's)
to FILE, so a test can check that nothing is left running.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from harness.protocol.model_server import open_model
from harness.protocol.server import Server


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("action")
    parser.add_argument("method")
    parser.add_argument("--once", type=Path)
    parser.add_argument("--pids", type=Path)
    args = parser.parse_args()
    if args.pids:
        with args.pids.open("a") as pids:
            pids.write(f"{os.getpid()}\n")
    server = Server(open_model)
    out = sys.stdout.buffer
    for line in sys.stdin.buffer:
        request = json.loads(line)
        answer, done = server.handle(line)
        if request.get("method") == args.method and _armed(args.once):
            answer = _misbehave(args.action, request, answer, args.pids)
        out.write(answer)
        out.flush()
        if done:
            break
    return 0


def _armed(flag: Path | None) -> bool:
    if flag is None:
        return True
    if flag.exists():
        return False
    flag.touch()
    return True


def _misbehave(action: str, request: dict[str, Any], answer: bytes, pids: Path | None) -> bytes:
    rid = request["id"]
    if action == "crash":
        sys.stderr.write("adapter: the VMM died — état perdu\n")
        sys.stderr.flush()
        os._exit(3)
    if action == "signal":
        os.kill(os.getpid(), signal.SIGKILL)
    if action == "close-stdout":
        sys.stdout.close()
        os.close(1)
        time.sleep(3600)
    if action == "hang":
        sys.stderr.write("adapter: waiting forever\n")
        sys.stderr.flush()
        time.sleep(3600)
    if action == "garbage":
        return b"this is not json\n"
    if action == "wrong-id":
        return answer.replace(f'"id":{rid},'.encode(), f'"id":{rid + 1},'.encode(), 1)
    if action == "wrong-type":
        return _line({"jsonrpc": "2.0", "id": rid, "result": "4096"})
    if action == "not-found":
        return _line({"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": "no"}})
    if action == "unsupported":
        error = {"code": 2, "message": "no IOMMU group is free"}
        return _line({"jsonrpc": "2.0", "id": rid, "error": error})
    if action == "bad-protocol":
        result = {"name": "faulty", "protocol": "vfio-harness/0", "methods": []}
        return _line({"jsonrpc": "2.0", "id": rid, "result": result})
    if action == "extra-member":  # on initialize: a member the page does not name
        message = json.loads(answer)
        message["result"]["version"] = "1.2.0"
        return _line(message)
    if action == "no-methods":
        return _line({"jsonrpc": "2.0", "id": rid, "result": {"name": "faulty"}})
    if action == "few-methods":  # on initialize: list only what a DMA-only adapter has
        message = json.loads(answer)
        message["result"]["methods"] = ["container", "map", "unmap", "mappings", "mapped"]
        return _line(message)
    if action == "errno":  # on a declared failure: add the kernel's errno
        message = json.loads(answer)
        if "error" in message:
            message["error"]["data"]["errno"] = 17
        return _line(message)
    if action == "chatty":
        for n in range(80):
            sys.stderr.write(f"line {n}\n")
        sys.stderr.flush()
        os._exit(1)
    if action == "grandchild":
        sleeper = subprocess.Popen(["sleep", "3600"])
        if pids:
            with pids.open("a") as file:
                file.write(f"{sleeper.pid}\n")
        return answer
    assert action == "ok", action
    return answer


def _line(message: dict[str, Any]) -> bytes:
    return (json.dumps(message, separators=(",", ":")) + "\n").encode()


if __name__ == "__main__":
    sys.exit(main())
