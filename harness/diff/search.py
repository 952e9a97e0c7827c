"""The search: generate programs, compare, and shrink one program per class of divergence.

Hypothesis drives it as a library. Each round is one `hypothesis.find` over the program
strategy: generation runs programs on both backends until one diverges in a class not seen
before; Hypothesis then shrinks that program while it still diverges in that class. A second
pass works on the shrunk program itself: it cuts everything after the divergent statement and
drops each earlier statement the divergence does not need (a map whose failure changes no
state, a query), keeping a declaration while a later statement uses its name.

Reproducible: the rounds draw their seeds from one `random.Random(seed)`, Hypothesis keeps no
database, and a budget counts generated programs (not time), so the same seed and budget
give the same classes and the same shrunk programs. A time limit stops generation when it runs
out (a round already shrinking finishes first).

Counting: `sequences` are programs generated (shrinking runs are counted apart, in
`shrink_runs`); `ops` are the calls the target answered, shrinking included; `divergent` is how
many generated programs diverged, in any class.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from hypothesis import HealthCheck, Phase, Verbosity, find, settings
from hypothesis.errors import NoSuchExample

from harness.backend import Backend, BackendFault, BackendSession, Unsupported
from harness.diff import generate
from harness.diff.compare import (
    Answer,
    AnswerKind,
    Comparison,
    ReferenceBroke,
    Shape,
    Stop,
    ask,
    compare,
)
from harness.diff.dma_programs import NO_ATTACH
from harness.diff.program import Container, Device, Program, declared, size_text, used

MAX_SHRINK_RUNS = 2000  # programs Hypothesis may run while shrinking one class
# Seconds Hypothesis may spend shrinking one class: a target that hangs costs its whole
# backend.timeout per program (lower it with -D backend.timeout=N for such targets).
MAX_SHRINK_SECONDS = 120.0
# An area is left out once the target has started fewer than one in ten of its programs,
# after at least this many (a device without members may match, the others never do).
AREA_PROBES = 25
_UNLIMITED = 10**9


@dataclass
class Stats:
    """Live counts of a search (updated as it goes, read by the progress display)."""

    sequences: int = 0
    ops: int = 0
    divergent: int = 0
    classes: int = 0
    skipped: int = 0  # programs the target (or reference) could not run to the end
    reason: str = ""  # why the last of them stopped, as the backend said
    shrink_runs: int = 0
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None  # when the search ended (None: still running)
    first_divergence: float | None = None  # seconds from the start to the first divergent program
    first_class: float | None = None  # seconds from the start until the first class was shrunk
    budget: int | None = None  # programs to generate, when the search has a budget
    seconds: float | None = None  # ... and its time limit, when it has one
    avoided: tuple[str, ...] = ()  # container options the target cannot run, no longer drawn
    dropped: tuple[str, ...] = ()  # areas left out: the target ran none of their programs

    @property
    def elapsed(self) -> float:
        """Seconds from the start of the search to its end (or to now, while it runs)."""
        end = time.monotonic() if self.finished is None else self.finished
        return end - self.started


@dataclass(frozen=True, slots=True)
class Found:
    """One class of divergence: its shrunk program and both backends' answers."""

    shape: Shape
    comparison: Comparison  # of the shrunk program: it ends with the divergent call
    sequence: int  # the generated program (1-based) in which the class was first seen
    first_size: int  # statements of that program before shrinking
    # Set only when the divergence needs a statement the target answered `Unsupported` (so
    # its call changed the target's state after all, against the Backend contract): the
    # reference's answers when it runs every call, that statement's included, as a file
    # run on the reference does.
    alone: tuple[Answer, ...] | None = None

    @property
    def needs_skipped(self) -> bool:
        """Whether the divergence needs a statement the target said it could not run."""
        return self.alone is not None


def changed_state(comparison: Comparison) -> Shape:
    """The class of a divergence that needs a call the target answered `Unsupported`: the
    call changed the target's state (`METHOD: unchanged vs unsupported-but-changed`)."""
    calls = comparison.program.calls()
    method = next(
        (
            call.method
            for (_, call), answer in zip(calls, comparison.target, strict=False)
            if answer.kind is AnswerKind.UNSUPPORTED
        ),
        "call",
    )
    return Shape(method, "unchanged", "unsupported-but-changed")


@dataclass(frozen=True, slots=True)
class Limits:
    """When the search stops: after `budget` programs, after `seconds`, or once `classes`
    classes are found, whichever comes first (None: no such limit)."""

    budget: int | None = None
    seconds: float | None = None
    classes: int | None = None


def _option(key: str, value: object) -> str:
    """`key=value` as a scenario writes it (`pgsize=64K`)."""
    return f"{key}={size_text(value) if isinstance(value, int) and key == 'pgsize' else value}"


class SessionBroke(Exception):
    """A backend could not give a fresh backend any more (a fatal fault): the search stops."""

    def __init__(self, role: str, name: str, fault: BackendFault) -> None:
        super().__init__(f"the {role} {name} broke down: {fault.message}")
        self.role = role
        self.name = name
        self.fault = fault


class _LimitReached(BaseException):
    """Raised from the predicate to end a round: the budget or the time is used up.

    A BaseException, like KeyboardInterrupt: Hypothesis lets it through at once instead of
    taking it for a failure to shrink.
    """


class _Round:
    """The state of one `find` round: hunting for a new class, then shrinking it."""

    def __init__(self, search: Search, known: set[Shape]) -> None:
        self.search = search
        self.known = known
        self.shape: Shape | None = None
        self.sequence = 0
        self.first_size = 0
        self.shrinks = 0
        # Programs run since the class was found (and the one that found it): Hypothesis
        # replays some, and replays must not run again (nor answer differently).
        self.memo: dict[Program, Comparison] = {}
        self.broke: ReferenceBroke | SessionBroke | None = None
        self.deadline = 0.0  # when shrinking this class stops trying new programs

    def condition(self, program: Program) -> bool:
        """Hypothesis's predicate: a new class while generating, then that class."""
        comparison = self.memo.get(program)
        if comparison is None:
            if self.shape is None and self.search.exhausted():
                raise _LimitReached
            if self.shape is not None and (
                self.shrinks >= MAX_SHRINK_RUNS or time.monotonic() > self.deadline
            ):
                return False  # keep the smallest program so far
            try:
                comparison = self.search.run(program, shrinking=self.shape is not None)
            except (ReferenceBroke, SessionBroke) as error:
                self.broke = error
                raise _LimitReached from None
            if self.shape is not None:
                self.shrinks += 1
                self.memo[program] = comparison
            elif self.search.relearned():
                raise _LimitReached  # a new round draws without what the target cannot run
        shape = comparison.divergence
        if self.shape is not None:
            return shape == self.shape
        if shape is None or shape in self.known:
            return False
        self.shape = shape
        self.sequence = self.search.stats.sequences
        self.first_size = len(program)
        self.memo[program] = comparison
        self.deadline = time.monotonic() + MAX_SHRINK_SECONDS
        return True


class Search:
    """A search of one target against one reference (see the module docstring)."""

    def __init__(
        self,
        reference: BackendSession,
        target: BackendSession,
        *,
        areas: Sequence[str] = generate.AREAS,
        seed: int = 0,
        limits: Limits = Limits(budget=1000),
        max_ops: int = generate.MAX_OPS,
        on_progress: Callable[[Stats, Found | None], None] | None = None,
    ) -> None:
        self.reference = reference
        self.target = target
        self.methods = frozenset(reference.methods) & frozenset(target.methods)
        self.areas = generate.usable(areas, self.methods)
        if not self.areas:
            raise ValueError(f"no area of {', '.join(areas)} can run with these methods")
        self.max_ops = max_ops
        # Container options the target cannot run, learned from its `Unsupported` answers,
        # and those seen running: later rounds draw without the former.
        self.avoided: set[tuple[str, object]] = set()
        self._runs_with: set[tuple[str, object]] = set()
        self._tried: Counter[str] = Counter()  # programs of each area generated
        self._started: Counter[str] = (
            Counter()
        )  # ... and those the target ran past their declarations
        self._learned = False
        self.seed = seed
        self.limits = limits
        self.stats = Stats(budget=limits.budget, seconds=limits.seconds)
        self.found: dict[Shape, Found] = {}
        self._known: set[Shape] = set()  # the classes searched for and found (before merging)
        self._on_progress = on_progress
        self._deadline = None if limits.seconds is None else self.stats.started + limits.seconds

    # ---- what the rounds call
    def exhausted(self) -> bool:
        """Whether the budget or the time is used up."""
        budget, classes = self.limits.budget, self.limits.classes
        if budget is not None and self.stats.sequences >= budget:
            return True
        if classes is not None and len(self.found) >= classes:
            return True
        return self._deadline is not None and time.monotonic() >= self._deadline

    def run(self, program: Program, *, shrinking: bool = False) -> Comparison:
        """Compare one program on fresh backends, counting it.

        A backend that cannot start a program (a fault before its first call) skips it; one
        that never will again (a fatal fault) stops the search: `SessionBroke`.
        """
        reference = self._fresh(self.reference, "reference")
        target = self._fresh(self.target, "target") if reference is not None else None
        if reference is None or target is None:
            comparison = Comparison(program, (), (), Stop.NOT_STARTED)
        else:
            comparison = compare(program, reference, target)
        self._learn(comparison, shrinking=shrinking)
        stats = self.stats
        stats.ops += comparison.calls
        if shrinking:
            stats.shrink_runs += 1
        else:
            stats.sequences += 1
            if comparison.stop is Stop.DIVERGED:
                stats.divergent += 1
                if stats.first_divergence is None:
                    stats.first_divergence = stats.elapsed
            elif comparison.stop is not Stop.END:
                stats.skipped += 1
                stats.reason = comparison.reason or stats.reason
            if self._on_progress is not None and stats.sequences % 25 == 0:
                self._on_progress(stats, None)
        return comparison

    @staticmethod
    def _fresh(session: BackendSession, role: str) -> Backend | None:
        try:
            return session.fresh()
        except Unsupported:
            return None
        except BackendFault as fault:
            if fault.fatal:
                raise SessionBroke(role, session.name, fault) from None
            return None

    # ---- the search
    def run_all(self) -> dict[Shape, Found]:
        """Search until the limits; the classes found, in the order found."""
        rng = random.Random(self.seed)
        try:
            while not self.exhausted():
                before = self.stats.sequences
                found = self._round(rng)
                if found is None:
                    if self.stats.sequences == before:
                        break  # Hypothesis generated nothing more: nothing left to try
                    continue
                self._known.add(found.shape)
                if found.needs_skipped:
                    # One bug of the target, whatever it makes diverge later: one class.
                    found = replace(found, shape=changed_state(found.comparison))
                    if found.shape in self.found:
                        continue
                self.found[found.shape] = found
                self.stats.classes = len(self.found)
                if self.stats.first_class is None:
                    self.stats.first_class = self.stats.elapsed
                if self._on_progress is not None:
                    self._on_progress(self.stats, found)
        finally:  # also when interrupted, or when the reference broke
            self.stats.finished = time.monotonic()
        if self._on_progress is not None:
            self._on_progress(self.stats, None)
        return self.found

    def _learn(self, comparison: Comparison, *, shrinking: bool) -> None:
        """Note the container options the target ran, and blame the one it could not; leave
        out an area the target starts fewer than one program in ten of (after `AREA_PROBES`).

        An option is blamed when a container the target cannot run has exactly one option
        not yet seen in a container it ran (with more, nothing is decided yet). An area is
        left out only while another remains (the kernel backend runs only devices that match
        the guest's, so random ones never start).
        """
        area = comparison.program.area
        if not shrinking:
            self._tried[area] += 1
            if comparison.stop is not Stop.TARGET_UNSUPPORTED:
                self._started[area] += 1
            tried, started = self._tried[area], self._started[area]
            stuck = tried >= AREA_PROBES and started * 10 < tried
            if stuck and area in self.areas and len(self.areas) > 1:
                self.areas.remove(area)
                self.stats.dropped += (area,)
                self._learned = True
        calls = comparison.program.calls()
        for (_, call), answer in zip(calls, comparison.target, strict=False):
            if call.method == "container" and answer.kind is not AnswerKind.UNSUPPORTED:
                self._runs_with.update(call.kwargs)
        if comparison.stop is Stop.TARGET_UNSUPPORTED:
            _, call = calls[len(comparison.target)]
            if call.method == "device" and area == "dma" and NO_ATTACH not in self.avoided:
                self.avoided.add(NO_ATTACH)  # the device to attach: dma can do without
                self.stats.avoided += ("a device to attach",)
                self._learned = True
            if call.method == "container":
                unknown = [option for option in call.kwargs if option not in self._runs_with]
                if len(unknown) == 1 and unknown[0] not in self.avoided:
                    self.avoided.add(unknown[0])
                    options = (_option(k, v) for k, v in self.avoided if (k, v) != NO_ATTACH)
                    attach = ("a device to attach",) if NO_ATTACH in self.avoided else ()
                    self.stats.avoided = (*sorted(options), *attach)
                    self._learned = True

    def relearned(self) -> bool:
        """Whether an option was blamed since the last call (the round should start again)."""
        learned, self._learned = self._learned, False
        return learned

    def _round(self, rng: random.Random) -> Found | None:
        state = _Round(self, set(self._known))
        strategy = generate.programs(
            self.areas, self.methods, self.max_ops, frozenset(self.avoided)
        )
        budget = self.limits.budget
        remaining = _UNLIMITED if budget is None else max(budget - self.stats.sequences, 1)
        # From Hypothesis's own defaults, not the profile loaded in this process (a test
        # suite's), so that a seed means the same search everywhere.
        config = settings(
            settings.get_profile("default"),
            max_examples=remaining,
            database=None,
            deadline=None,
            phases=(Phase.generate, Phase.shrink),
            suppress_health_check=list(HealthCheck),
            verbosity=Verbosity.quiet,
        )
        try:
            program = find(strategy, state.condition, settings=config, random=rng)
        except (NoSuchExample, _LimitReached):
            program = None
        if state.broke is not None:
            raise state.broke
        if program is None or state.shape is None:
            return None
        comparison, needs_skipped = self._cut(state.memo[program], state.shape)
        alone = self._reference_alone(comparison) if needs_skipped else None
        return Found(state.shape, comparison, state.sequence, state.first_size, alone)

    def _reference_alone(self, comparison: Comparison) -> tuple[Answer, ...]:
        """The reference's answers to every call compared, those the target skipped too."""
        reference = self._fresh(self.reference, "reference")
        if reference is None:  # it could not start again: what it answered in the comparison
            return comparison.reference
        calls = comparison.program.calls()[: comparison.calls]
        return tuple(ask(reference, call) for _, call in calls)

    def _cut(self, comparison: Comparison, shape: Shape) -> tuple[Comparison, bool]:
        """The shrunk program cut down: nothing after the divergence, nothing it does not need;
        and whether it was shown to need a statement the target could not run.

        The divergent statement becomes the last (a device keeps only its members up to the
        divergent one); each earlier statement is dropped if the divergence stays without it
        (a declaration only while no later statement uses its name); containers are renamed
        c0, c1, ... in order. Every step is run again and kept only if the class is unchanged.
        """
        program = comparison.program
        statements = list(program.statements[: comparison.statement + 1])
        last = statements[-1]
        if isinstance(last, Device):  # a declaration is never skipped: it is all there
            before = sum(1 for index, _ in program.calls() if index < comparison.statement)
            statements[-1] = last.truncated(comparison.calls - before)
        # Statements the target could not run (so neither side ran) go first: a file holding
        # one would run it on the reference. If the divergence needs one (a target whose
        # `Unsupported` changed its state after all), they stay, and the file check says so.
        skipped = comparison.skipped
        kept = [s for i, s in enumerate(statements) if i not in skipped]
        reduced = self._check(program.with_statements(kept), shape)
        needed = None
        if reduced is None and skipped:  # does it diverge only with them?
            needed = self._check(program.with_statements(statements), shape, skipped=True)
        best = reduced or needed or comparison
        changed = True
        while changed:
            changed = False
            statements = list(best.program.statements)
            for index in range(len(statements) - 2, -1, -1):
                name = declared(statements[index])
                later = statements[index + 1 :]
                if name is not None and any(name in used(s) for s in later):
                    continue
                candidate = statements[:index] + later
                trial = self._check(
                    best.program.with_statements(candidate), shape, skipped=bool(best.skipped)
                )
                if trial is not None:
                    best, statements, changed = trial, candidate, True
        containers = [s.name for s in best.program.statements if isinstance(s, Container)]
        names = {old: f"c{i}" for i, old in enumerate(containers) if old != f"c{i}"}
        if names:
            renamed = best.program.renamed(names)
            best = self._check(renamed, shape, skipped=bool(best.skipped)) or best
        return best, needed is not None and bool(best.skipped)

    def _check(self, program: Program, shape: Shape, *, skipped: bool = False) -> Comparison | None:
        """The comparison of `program` if it still ends diverging in `shape` at its last
        statement (and, unless `skipped`, holds no statement the target could not run)."""
        comparison = self.run(program, shrinking=True)
        last = len(program) - 1
        if comparison.divergence == shape and comparison.statement == last:
            return comparison if skipped or not comparison.skipped else None
        return None
