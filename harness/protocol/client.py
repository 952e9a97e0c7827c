"""The harness's side of `vfio-harness/1`: a `BackendSession` over a child process.

`ProcessSession(command, defaults, cwd=..., timeout=..., log=...)` is what `-D backend=exec:COMMAND`
opens, once per process (each pytest-xdist worker has its own). Its child is started when first
needed: when the plugin asks for the project name (for issue links and markers), or at the first
scenario. Then, per the protocol page:

- `initialize` once per child; `reset` before every scenario (`fresh()`); one request per
  backend call, sent by the `ProcessBackend` proxy `fresh()` returns, in the interpreter's
  order; at the end `shutdown`, stdin closed, SIGKILL after 5 s (`close()`).
- A call to a method the child did not list is `Unsupported` and is not sent; -32601 makes the
  method unsupported for the rest of the run; error code 2 is `Unsupported` with the child's
  reason; code 1 is the declared failure, a `VfioError` with the child's `data.id` (an id
  outside the catalog is kept as sent: the matcher reports it as unknown) and `data.errno`.
- Every fault (a broken line, an exit, a timeout) kills the child and raises `BackendFault`
  with the page's sentence (`BackendFault.at(FILE:LINE)`) and the stderr tail; the next
  `fresh()` starts a new child. A child that fails `initialize` makes the next scenario fail
  with what it sent; after three in a row no child is started any more and every `fresh()`
  raises the same fault, marked `fatal`.
"""

from __future__ import annotations

import os
import shlex
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, cast

from harness.backend import Backend, BackendFault, CoreDefaults, Unsupported
from harness.options import DEFAULT_TIMEOUT, EXEC, RunOptions
from harness.protocol import wire
from harness.protocol.child import (
    Child,
    ChildExited,
    ChildTimeout,
    Log,
    StartFailed,
    Transcript,
)
from harness.protocol.child import describe_status as _status
from harness.protocol.lifecycle import (
    Handshake,
    LifecycleError,
    defaults_to_wire,
    handshake_from_wire,
)
from harness.protocol.methods import KIND_WORDS, METHODS, PROTOCOL, Method, bind, is_kind
from harness.sessions import BackendError
from harness.vfio.catalog import VfioError

SHUTDOWN_GRACE = 5.0  # seconds a child has to exit after `shutdown`, then SIGKILL
MAX_FAILED_STARTS = 3


class ProcessSession:
    """A process backend for a whole run (see the module docstring)."""

    def __init__(
        self,
        command: str,
        defaults: CoreDefaults,
        *,
        cwd: Path,
        timeout: float,
        log: Path | Log | None = None,
    ) -> None:
        self.spec = f"exec:{command}"
        self.argv = shlex.split(command)
        if not self.argv:
            raise ValueError("an empty command")
        self.cwd = cwd
        self.timeout = timeout
        self.defaults = {"defaults": defaults_to_wire(defaults)}
        self.transcript = Transcript(log) if isinstance(log, Path) else log
        self._child: Child | None = None
        self._handshake: Handshake | None = None
        self._methods: frozenset[str] = frozenset()
        self._next_id = 1
        self._failed_starts = 0
        self._pending: BackendFault | None = None  # a failed initialize no scenario reported
        self._dead: BackendFault | None = None  # after three failed initializes in a row
        self._scenario = 0  # which scenario the current proxy serves
        self._closed = False

    # -- what the plugin and the run header read -------------------------------------------

    @property
    def name(self) -> str:
        """The child's project name ("" while no child has answered `initialize`)."""
        self._start_if_needed()
        return self._handshake.name if self._handshake else ""

    @property
    def info(self) -> Mapping[str, str]:
        """The child's `info`, the method names it listed that the protocol lacks, and the
        members of its answer the protocol does not name."""
        self._start_if_needed()
        if self._handshake is None:
            return {}
        info = dict(self._handshake.info)
        if self._handshake.unknown:
            info["unknown methods (ignored)"] = ", ".join(self._handshake.unknown)
        if self._handshake.extra:
            info["unknown initialize members (ignored)"] = ", ".join(self._handshake.extra)
        return info

    @property
    def methods(self) -> frozenset[str]:
        """The Backend methods the child implements (less any it answered -32601 to)."""
        self._start_if_needed()
        return self._methods

    @property
    def closed(self) -> bool:
        """Whether `close()` has run."""
        return self._closed

    @property
    def pid(self) -> int | None:
        """The running child's process id, if one runs."""
        return self._child.pid if self._child is not None else None

    # -- lifecycle -------------------------------------------------------------------------

    def _label(self) -> str:
        return self._handshake.name if self._handshake else self.spec

    def _start_if_needed(self) -> None:
        if self._child is None and not (self._pending or self._dead or self._closed):
            self._start()

    def _start(self) -> None:
        """Start a child and initialize it; a failure becomes the next scenario's fault."""
        self._handshake = None
        try:
            child = Child(self.argv, self.cwd, self.transcript)
        except StartFailed as error:
            self._failed_start(BackendFault(f"backend {self.spec}: {error}"))
            return
        self._child, self._next_id = child, 1
        params = {"protocol": PROTOCOL, **self.defaults}
        try:
            response, line = self._request("initialize", params)
            if response.error is not None:
                raise self._initialize_fault("it answered with an error", line)
            try:
                handshake = handshake_from_wire(response.result)
            except LifecycleError as error:
                raise self._initialize_fault(error.reason, line) from None
        except BackendFault as fault:
            self._drop_child()
            self._failed_start(fault)
            return
        self._handshake, self._methods, self._failed_starts = handshake, handshake.methods, 0

    def _initialize_fault(self, reason: str, line: bytes) -> BackendFault:
        return BackendFault(
            f"backend {self.spec} failed initialize: {reason}: {wire.quote(line)}",
            self._tail(),
        )

    def _failed_start(self, fault: BackendFault) -> None:
        self._failed_starts += 1
        if self._failed_starts >= MAX_FAILED_STARTS:
            fault = BackendFault(
                f"{fault.message} ({MAX_FAILED_STARTS} children in a row failed initialize: "
                "no further child is started)",
                fault.detail,
                fatal=True,
            )
            self._dead = fault
        self._pending = fault

    def fresh(self) -> Backend:
        """`reset` the child (starting one when needed); the proxy for the next scenario."""
        if self._closed:
            raise RuntimeError(f"backend {self.spec}: the session is closed")
        self._start_if_needed()
        if self._pending is not None:
            fault, self._pending = self._pending, None
            raise fault
        if self._dead is not None:
            raise self._dead
        response, line = self._request("reset", self.defaults)
        if response.error is not None or response.result is not None:
            answer = "an error" if response.error else "a result"
            raise self._violation("reset", f"the answer is {answer}, not null", line)
        self._scenario += 1
        return cast(Backend, ProcessBackend(self, self._scenario))

    def close(self) -> None:
        """`shutdown`, close stdin, SIGKILL after 5 s; idempotent."""
        if self._closed:
            return
        self._closed = True
        child, self._child = self._child, None
        if child is not None:
            try:
                request = wire.request(self._next_id, "shutdown", {})
                child.exchange(request, SHUTDOWN_GRACE)
            except (ChildExited, ChildTimeout):
                pass  # it is stopped below all the same
            finally:
                child.stop(SHUTDOWN_GRACE)
        if self.transcript is not None:
            self.transcript.close()

    def __enter__(self) -> ProcessSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- requests --------------------------------------------------------------------------

    def call(self, scenario: int, method: Method, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
        """One Backend call as one request (see the module docstring)."""
        if scenario != self._scenario:
            raise RuntimeError(f"a backend of an earlier scenario called {method.name}")
        name = method.name
        if name not in self._methods:
            raise Unsupported(f"does not implement {name}", missing=True)
        response, line = self._request(name, bind(method, args, kw))
        error = response.error
        if error is None:
            if not is_kind(response.result, method.result):
                raise self._violation(name, f"the result is not {KIND_WORDS[method.result]}", line)
            return response.result
        if error.code == wire.DECLARED_FAILURE:
            data = error.data
            if not isinstance(data, dict) or type(data.get("id")) is not str or not data["id"]:
                raise self._violation(name, 'error code 1 without a string "data.id"', line)
            errno = data.get("errno")
            if errno is not None and type(errno) is not int:
                raise self._violation(name, '"data.errno" is not an integer', line)
            raise VfioError.from_id(data["id"], error.message, errno=errno)
        if error.code == wire.UNSUPPORTED:
            raise Unsupported(error.message)
        if error.code == wire.METHOD_NOT_FOUND:
            self._methods = self._methods - {name}
            raise Unsupported(f"does not implement {name}", missing=True)
        raise self._violation(name, f"error code {error.code}", line)

    def _request(self, method: str, params: Mapping[str, Any]) -> tuple[wire.Response, bytes]:
        """Send one request; its validated response and the line it came on, or a fault."""
        child = self._child
        if child is None:
            raise BackendFault(f"backend {self._label()} has no child running for {method}")
        request_id, self._next_id = self._next_id, self._next_id + 1
        line = wire.request(request_id, method, params)
        label = self._label()
        try:
            answer = child.exchange(line, self.timeout)
        except ChildTimeout:
            self._drop_child()
            seconds = f"{self.timeout:g}"
            raise BackendFault(
                f"backend {label} did not answer {method} within {seconds} s",
                self._tail(child),
                located=(f"backend {label} did not answer {method} at ", f" within {seconds} s"),
            ) from None
        except ChildExited as exited:
            self._drop_child()
            if exited.status is None:
                what = "closed its standard output"
            else:
                what = f"exited with {_status(exited.status)}"
            raise BackendFault(
                f"backend {label} {what} during {method}",
                self._tail(child),
                located=(f"backend {label} {what} during {method} at ", ""),
            ) from None
        except BaseException:  # Ctrl-C mid-request: the answer would come to the next one
            self._drop_child()
            raise
        try:
            return wire.decode_response(answer, request_id), answer
        except wire.WireError as error:
            raise self._violation(method, error.reason, answer) from None

    def _violation(self, method: str, reason: str, line: bytes) -> BackendFault:
        """The fault of a child that broke the protocol; the child is stopped."""
        child = self._child
        self._drop_child()
        label, quoted = self._label(), wire.quote(line)
        return BackendFault(
            f"backend {label} broke the protocol ({method}): {reason}: {quoted}",
            self._tail(child),
            located=(f"backend {label} broke the protocol at ", f" ({method}): {reason}: {quoted}"),
        )

    def _drop_child(self) -> None:
        """Kill the current child (if any); the next scenario starts a new one."""
        child, self._child = self._child, None
        if child is not None:
            child.kill()

    def _tail(self, child: Child | None = None) -> str:
        child = child if child is not None else self._child
        return "\n".join(child.stderr_tail) if child is not None else ""


class ProcessBackend:
    """The `Backend` of one scenario: each method sends one request to the session's child."""

    def __init__(self, session: ProcessSession, scenario: int) -> None:
        self.name = session.name
        self._session = session
        self._scenario = scenario

    def __getattr__(self, attribute: str) -> Callable[..., Any]:
        method = METHODS.get(attribute)
        if method is None:
            raise AttributeError(attribute)
        session, scenario = self._session, self._scenario

        def call(*args: Any, **kwargs: Any) -> Any:
            return session.call(scenario, method, args, kwargs)

        call.__name__ = attribute
        setattr(self, attribute, call)  # found directly next time
        return call


def open_process(
    spec: str,
    defaults: CoreDefaults,
    options: RunOptions | None = None,
    *,
    cwd: Path | None = None,
    worker: str | None = None,
) -> ProcessSession:
    """The session of `exec:COMMAND`, run in `cwd` (default: the current folder).

    A program that cannot be found or run is a `BackendError` now, before any scenario.
    `backend.log` is taken relative to the current folder; `worker` (an xdist worker id) gets
    a file of its own beside it (`backend.log` -> `backend.gw0.log`).
    """
    folder = cwd if cwd is not None else Path.cwd()
    command = spec.removeprefix(EXEC)
    try:
        words = shlex.split(command)
    except ValueError as error:
        raise BackendError(spec, f"the command does not split: {error}", _EXEC_HINT) from None
    if not words:
        raise BackendError(spec, "an empty command", _EXEC_HINT)
    program = words[0]
    if "/" in program:
        path = folder / program
        found = path.is_file() and os.access(path, os.X_OK)
    else:
        found = shutil.which(program) is not None
    if not found:
        where = f"in {folder}" if "/" in program else "on PATH"
        raise BackendError(
            spec,
            f"cannot start {program!r}: no executable file of that name {where}",
            f"the command runs in {folder}; give a program on PATH or a path from there",
        )
    transcript = None
    if options is not None and options.backend_log:
        log = Path(options.backend_log).absolute()
        if worker:
            log = log.with_name(f"{log.stem}.{worker}{log.suffix}")
        try:
            transcript = Transcript(log)
        except OSError as error:
            raise BackendError(
                spec,
                f"cannot write the transcript {str(log)!r}: {error.strerror}",
                "give -D backend.log a file in a folder you can write",
            ) from None
    timeout = options.backend_timeout if options is not None else DEFAULT_TIMEOUT
    return ProcessSession(command, defaults, cwd=folder, timeout=timeout, log=transcript)


_EXEC_HINT = "write e.g. backend=exec:python -m harness serve"
