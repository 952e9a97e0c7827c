"""Process backends: the `vfio-harness/1` protocol (JSON-RPC 2.0 over a child's stdin/stdout).

- `methods`: the method table, read off `harness.backend.Backend`;
- `wire`: one JSON object per line, strictly decoded, integers exact;
- `lifecycle`: the `initialize`/`reset` params and the handshake;
- `server`: `serve(open_session, stdin, stdout)`, any `BackendSession` behind the protocol;
- `model_server`: `python -m harness serve`, the core model as the reference adapter.

Nothing here imports pytest, rich or lark: a child process starts with the core alone.
"""
