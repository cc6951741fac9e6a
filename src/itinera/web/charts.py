"""Chart geometry for a journey's report, computed here and drawn as inline SVG by the
templates: no chart library, nothing run in the browser.

* the funnel: one horizontal bar per node (entered), the part that dropped there in a second
  colour;
* the days: enrollments and goals reached per UTC day, as two lines on a shared scale;
* an experiment's lift: each variant's difference from the control with its 95% interval,
  around a zero line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from itinera.analytics.queries import DayRow
from itinera.analytics.report import ExperimentReport, NodeReport

__all__ = ["Bar", "Funnel", "Interval", "LiftChart", "Series", "TimeChart", "funnel", "lift_chart",
           "time_chart"]

BAR_AREA = 420.0  # width of the longest bar
BAR_HEIGHT, BAR_GAP = 18.0, 8.0
PLOT_W, PLOT_H = 640.0, 180.0


@dataclass(frozen=True)
class Bar:
    label: str
    y: float
    entered: int
    dropped: int
    width: float
    dropped_width: float


@dataclass(frozen=True)
class Funnel:
    bars: list[Bar]
    height: float


def funnel(nodes: Sequence[NodeReport]) -> Funnel:
    """A bar per node in funnel order, scaled to the node most entered."""
    most = max((n.entered for n in nodes), default=0) or 1
    bars = [Bar(n.node, i * (BAR_HEIGHT + BAR_GAP), n.entered, n.dropped,
                BAR_AREA * n.entered / most, BAR_AREA * n.dropped / most)
            for i, n in enumerate(nodes)]
    return Funnel(bars, max(len(bars) * (BAR_HEIGHT + BAR_GAP) - BAR_GAP, 0.0))


@dataclass(frozen=True)
class Series:
    name: str
    points: str  # SVG polyline points
    dots: list[tuple[float, float, int]]  # x, y, value


@dataclass(frozen=True)
class TimeChart:
    series: list[Series]
    top: int  # the value at the top of the plot
    first: str
    last: str
    ticks: list[tuple[float, str]]  # x, day


def _nice(value: int) -> int:
    """The smallest of 1, 2, 5 × 10^k at or above ``value``."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def time_chart(days: Sequence[DayRow]) -> TimeChart | None:
    """Enrollments and goals reached per day (None without any day)."""
    if not days:
        return None
    top = _nice(max(max(d.enrolled, d.goal_reached) for d in days) or 1)
    span = max(len(days) - 1, 1)

    def x(i: int) -> float:
        return PLOT_W * i / span if len(days) > 1 else PLOT_W / 2

    def y(v: int) -> float:
        return PLOT_H - PLOT_H * v / top

    series = []
    for name, values in (("enrolled", [d.enrolled for d in days]),
                         ("goal reached", [d.goal_reached for d in days])):
        dots = [(x(i), y(v), v) for i, v in enumerate(values)]
        series.append(Series(name, " ".join(f"{a:.1f},{b:.1f}" for a, b, _ in dots), dots))
    every = max(1, len(days) // 6)
    ticks = [(x(i), d.day[5:]) for i, d in enumerate(days) if i % every == 0]
    return TimeChart(series, top, days[0].day, days[-1].day, ticks)


@dataclass(frozen=True)
class Interval:
    name: str
    y: float
    low: float  # x of the interval's ends and of the estimate
    high: float
    mid: float
    text: str


@dataclass(frozen=True)
class LiftChart:
    intervals: list[Interval]
    zero: float
    height: float
    scale: float  # percentage points at each end of the axis


def lift_chart(experiment: ExperimentReport) -> LiftChart | None:
    """Each variant's difference in goal conversion from the control, with its 95% interval
    (None when no variant can be compared)."""
    compared = [v for v in experiment.variants if v.comparison is not None]
    if not compared:
        return None
    scale = max(max(abs(v.comparison.ci_low), abs(v.comparison.ci_high))
                for v in compared if v.comparison is not None) or 0.01
    half = PLOT_W / 2 - 40  # the axis runs from 40 to 600

    def x(value: float) -> float:
        return PLOT_W / 2 + half * value / scale

    intervals = []
    for i, v in enumerate(compared):
        c = v.comparison
        assert c is not None
        intervals.append(Interval(v.name, 14 + i * 30, x(c.ci_low), x(c.ci_high), x(c.difference),
                                  f"{c.difference * 100:+.1f} pts [{c.ci_low * 100:+.1f}, "
                                  f"{c.ci_high * 100:+.1f}], p = {c.p_value:.3g}"))
    return LiftChart(intervals, x(0.0), 14 + len(compared) * 30, scale * 100)
