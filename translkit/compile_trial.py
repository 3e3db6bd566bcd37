"""``train.compile = "auto"`` on a machine that has never timed these networks compiled:
try it inside the run, keep whichever step measured faster, and remember both paces.

Without a recorded compiled pace, :func:`translkit.runtime.compile_decision` cannot know
whether compilation pays here, so a CPU run that is long enough tries it (the runtime says
so in its line: ``eager (auto: ... a compile trial ...)``):

1. the first :data:`SETTLE` eager steps are left out (allocations, caches), the next
   :data:`EAGER_STEPS` give the eager pace (their median);
2. the trial starts only where the eager steps left would take at least
   ``expected compile time / SHARE`` (so compiling, even when it does not pay, costs at most
   :data:`SHARE` of the run): the compile time recorded here for these networks, else
   :data:`ASSUMED_COMPILE_S`;
3. the networks' compiled wrappers are switched on; the first :data:`SETTLE` compiled steps
   compile (what they take beyond the compiled pace is the compile time), the next
   :data:`COMPILED_STEPS` give the compiled pace;
4. compiled is kept where it measured :data:`~translkit.runtime.COMPILE_MARGIN` faster than
   eager, else the run goes back to eager; every process of a distributed run agrees on each
   switch. Both paces and the compile time are recorded
   (:func:`translkit.runtime.record_step_times`), so later runs of these networks here decide
   at their start without a trial.

Sampling and evaluation always run the eager networks, so they never cause a recompilation.
The clock is the trainer's (a test injects a fake one): the choice follows the measurement.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field

from translkit.runtime import COMPILE_MARGIN

__all__ = ["ASSUMED_COMPILE_S", "SHARE", "CompileTrial", "steady_pace"]

#: Steps left out of a pace: the first eager steps, and the compiled steps that compile.
SETTLE = 3
#: Steady eager steps timed before deciding whether to try.
EAGER_STEPS = 10
#: Steady compiled steps timed before deciding which to keep.
COMPILED_STEPS = 10
#: At most this share of the run's eager time goes to a trial's compilation.
SHARE = 0.03
#: Compilation time assumed where none was recorded here: a CPU's first compile of a
#: generator and discriminator step takes 1–2 minutes (up to 8 measured on a 2-core EPYC).
ASSUMED_COMPILE_S = 120.0


def steady_pace(times: list[float]) -> tuple[float, float]:
    """The median of ``times`` after the first :data:`SETTLE`, and what those first ones
    took beyond it (for compiled steps: the compile time)."""
    pace = statistics.median(times[SETTLE:])
    return pace, sum(max(0.0, t - pace) for t in times[:SETTLE])


@dataclass
class CompileTrial:
    """One run's compile trial (module docstring); :meth:`after_step` is told each step's
    seconds and the steps left, and returns a line for the user when something changed.

    :param switch: turns the networks' compiled wrappers on or off; returns whether they
        still compile (``False`` after inductor failed and the wrappers fell back to eager).
    :param agree: whether every process says yes (a single process agrees with itself).
    :param record: keeps ``eager_s``, ``compiled_s`` and ``compile_s`` for later runs.
    :param compile_s: a compile time known for these networks (0: assume
        :data:`ASSUMED_COMPILE_S`; a trial is planned only where none was recorded).
    """

    switch: Callable[[bool], bool]
    agree: Callable[[bool], bool]
    record: Callable[..., None]
    compile_s: float = 0.0
    state: str = "eager"  # eager -> compiling -> kept / dropped; or skipped / failed
    reason: str = ""
    eager: list[float] = field(default_factory=list)
    compiled: list[float] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.state not in ("eager", "compiling")

    @property
    def kept(self) -> bool:
        return self.state == "kept"

    @property
    def recorded(self) -> bool:
        """Whether it timed both paces (and recorded them)."""
        return self.state in ("kept", "dropped")

    def after_step(self, seconds: float, steps_left: int) -> str:
        if self.state == "eager":
            self.eager.append(seconds)
            if len(self.eager) == SETTLE + EAGER_STEPS:
                return self._maybe_start(steps_left)
        elif self.state == "compiling":
            self.compiled.append(seconds)
            if len(self.compiled) == SETTLE + COMPILED_STEPS:
                return self._decide()
        return ""

    def _maybe_start(self, steps_left: int) -> str:
        pace, _ = steady_pace(self.eager)
        expected = self.compile_s or ASSUMED_COMPILE_S
        worth = steps_left * pace * SHARE >= expected and steps_left > SETTLE + COMPILED_STEPS
        if not self.agree(worth):
            self.state = "skipped"
            self.reason = (
                f"auto: eager; {steps_left} steps left at {pace:.3g} s do not cover a compile "
                f"trial (about {expected:.0f} s, at most {SHARE:.0%} of the run)"
            )
            return ""
        if not self.agree(self.switch(True)):  # every process calls agree as often
            return self._failed()
        self.state = "compiling"
        return (
            f"compile trial: eager {pace:.3g} s a step; timing the compiled step "
            f"(the first ones compile, about {expected:.0f} s)"
        )

    def _decide(self) -> str:
        eager, _ = steady_pace(self.eager)
        pace, cost = steady_pace(self.compiled)
        if not self.agree(self.switch(True)):  # inductor failed in the trial: eager times
            return self._failed()
        keep = self.agree(eager / pace >= COMPILE_MARGIN)
        self.record(eager_s=eager, compiled_s=pace, compile_s=cost)
        if not keep:
            self.switch(False)
        self.state = "kept" if keep else "dropped"
        self.reason = (
            f"auto: trial: compiled {eager / pace:.2f}× eager here ({cost:.0f} s to compile), "
            + ("kept" if keep else "eager kept")
        )
        return f"compile trial: {pace:.3g} s a compiled step against {eager:.3g} s eager: " + (
            "compiled from here on" if keep else "back to eager"
        )

    def _failed(self) -> str:
        self.switch(False)
        self.state = "failed"
        self.reason = "auto: eager; the compile trial's compilation failed"
        return ""
