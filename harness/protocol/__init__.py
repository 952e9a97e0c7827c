"""Process backends: the `vfio-harness/1` protocol (JSON-RPC 2.0 over a child's stdin/stdout).

- `methods`: the method table, read off `harness.backend.Backend`;
- `wire`: one JSON object per line, strictly decoded, integers exact;
- `lifecycle`: the `initialize`/`reset` params and the handshake;
- `child`: one child process (start, a line out and a line back, stop) and `backend.log`;
- `client`: `-D backend=exec:COMMAND`, a `BackendSession` over a child, every fault of the page;
- `server`: `serve(open_session, stdin, stdout)`, any `BackendSession` behind the protocol;
- `model_server`: `python -m harness serve`, the core model as the reference adapter;
- `conformance`: the per-area report of how much of the suite a backend supports.

Nothing here imports pytest, rich or lark: a child process starts with the core alone.
"""
