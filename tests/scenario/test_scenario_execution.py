"""The entry point `execute`: files in order, syntax errors, file statuses, empty files, and
the backend failures that stop a run (Unsupported, BackendFault, a crash)."""

from __future__ import annotations

from typing import Any

from harness.backend import AbortKind, BackendFault, Unsupported
from harness.model import ModelBackend
from harness.scenario import FileStatus, execute


class Failing(ModelBackend):
    """The model, except that `map` raises what the test gives it."""

    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error

    def map(self, *args: Any, **kwargs: Any) -> None:
        raise self.error


class Crashing(ModelBackend):
    """The model, except that `mappings` fails deep in the backend's own code."""

    def mappings(self, container: str) -> int:
        return self._ioctl(container)

    def _ioctl(self, container: str) -> int:
        raise RuntimeError(f"ioctl failed on {container}")


def test_files_run_in_order_on_one_state() -> None:
    files = [("a_file1.vfio", "container c0\n"), ("a_file2.vfio", "map c0 iova=0 vaddr=0 size=0\n")]
    result = execute(files, ModelBackend())
    assert [(o.file, o.line, o.id) for o in result.outputs] == [
        ("a_file2.vfio", 1, "dma.map.failed:size.zero")
    ]
    assert [f.status for f in result.files] == [FileStatus.RAN, FileStatus.RAN]
    assert result.ran == ("a_file1.vfio", "a_file2.vfio") and result.abort is None


def test_a_syntax_error_stops_its_file_and_every_later_one() -> None:
    files = [
        ("a_file1.vfio", "container c0\nmap c0 iova=0 vaddr=0 size=0\n"),
        ("a_file2.vfio", "map c0 iova=\n"),
        ("a_file3.vfio", "map c0 iova=0 vaddr=0 size=0\n"),
    ]
    result = execute(files, ModelBackend())
    assert [(o.file, o.id) for o in result.outputs] == [
        ("a_file1.vfio", "dma.map.failed:size.zero"),
        ("a_file2.vfio", "parser.error"),
    ]
    statuses = [f.status for f in result.files]
    assert statuses == [FileStatus.RAN, FileStatus.BROKEN, FileStatus.BLOCKED]
    assert result.not_run == ("a_file2.vfio", "a_file3.vfio")
    assert [e.file for e in result.syntax_errors] == ["a_file2.vfio"]


def test_later_files_syntax_errors_are_still_reported() -> None:
    files = [("a_file1.vfio", "map c0 iova=\n"), ("a_file2.vfio", "container\n")]
    result = execute(files, ModelBackend())
    assert [(e.file, e.line) for e in result.syntax_errors] == [
        ("a_file1.vfio", 1),
        ("a_file2.vfio", 1),
    ]


def test_empty_files_are_named() -> None:
    files = [("a_file1.vfio", "// only a comment\n\n"), ("a_file2.vfio", "")]
    result = execute(files, ModelBackend())
    assert result.empty == ("a_file1.vfio", "a_file2.vfio")
    assert result.ran == ("a_file1.vfio", "a_file2.vfio")


def test_unsupported_stops_the_run_and_keeps_earlier_outputs() -> None:
    text = "container c0\nunmap c0 iova=0 size=0\nmap c0 iova=0 vaddr=0 size=4K\nalloc c0\n"
    files = [("a_file1.vfio", text), ("a_file2.vfio", "container c1\n")]
    result = execute(files, Failing(Unsupported("no IOMMU")))
    assert [o.line for o in result.outputs] == [2]
    abort = result.abort
    assert abort is not None and abort.kind is AbortKind.UNSUPPORTED
    assert (abort.file, abort.line, abort.method) == ("a_file1.vfio", 3, "map")
    assert abort.message == "backend model cannot run map at a_file1.vfio:3: no IOMMU"
    assert [f.status for f in result.files] == [FileStatus.STOPPED, FileStatus.UNREACHED]


def test_backend_fault_stops_the_run_with_its_message_and_detail() -> None:
    fault = BackendFault("backend vmm exited with status 3", "stderr tail")
    result = execute([("a.vfio", "container c0\nmap c0 iova=0 vaddr=0 size=4K\n")], Failing(fault))
    abort = result.abort
    assert abort is not None and abort.kind is AbortKind.FAULT
    assert "backend vmm exited with status 3" in abort.message and "a.vfio:2" in abort.message
    assert abort.detail == "stderr tail"


def test_crash_names_the_line_the_exception_and_only_the_backends_frames() -> None:
    text = "container c0\nassert c0.mappings == 0\n"
    result = execute([("a.vfio", text)], Crashing())
    abort = result.abort
    assert abort is not None and abort.kind is AbortKind.CRASH
    assert (abort.file, abort.line, abort.method) == ("a.vfio", 2, "mappings")
    assert abort.message == "RuntimeError: ioctl failed on c0"
    assert "_ioctl" in abort.detail and "test_scenario_execution.py" in abort.detail
    assert "harness/scenario" not in abort.detail and "pluggy" not in abort.detail


def test_keyboard_interrupt_is_not_a_crash() -> None:
    files = [("a.vfio", "container c0\nmap c0 iova=0 vaddr=0 size=4K\n")]
    try:
        execute(files, Failing(KeyboardInterrupt()))
    except KeyboardInterrupt:
        return
    raise AssertionError("KeyboardInterrupt was swallowed")
