"""Interleaved timing rounds: the benchmarks' one way of timing workloads against each other.

Every round times each workload once, in the same order, so a change in the machine's speed
during the run reaches all workloads alike and a per-round ratio of two workloads cancels it::

    times = interleaved_rounds({'ours': run_ours, 'peer': run_peer}, rounds=7)
    ratio = per_round_ratio(times['peer'], times['ours'])  # per round: peer / ours
    print(f'ours {times["ours"]} s, speed-up {ratio}')  # median [low, high] over rounds
"""
import statistics
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Rounds:
    """One value per round (seconds, or a ratio of seconds) and their summary."""

    values: tuple

    @property
    def median(self):
        return statistics.median(self.values)

    @property
    def low(self):
        return min(self.values)

    @property
    def high(self):
        return max(self.values)

    @property
    def spread(self):
        """(high - low) / median: how far apart the rounds are, relative to the median."""
        return (self.high - self.low) / self.median

    def __str__(self):
        return f'{self.median:.3g} [{self.low:.3g}, {self.high:.3g}]'


def wall_clock(fn):
    """Seconds of one call of ``fn``."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def synchronized(device, calls=1):
    """A ``measure``: seconds per call over ``calls`` calls of ``fn`` on ``device`` (a
    ``torch.device``); on a GPU with CUDA events after a synchronize, queued work included."""
    import torch

    def measure(fn):
        def run():
            for _ in range(calls):
                fn()

        if device.type != 'cuda':
            return wall_clock(run) / calls
        with torch.cuda.device(device):  # the events are recorded on its current stream
            start, end = (torch.cuda.Event(enable_timing=True) for _ in range(2))
            torch.cuda.synchronize()
            start.record()
            run()
            end.record()
            end.synchronize()
        return start.elapsed_time(end) / 1e3 / calls

    return measure


def interleaved_rounds(workloads, rounds, warmup=1, measure=wall_clock, on_round=None):
    """``{name: Rounds}`` of the seconds of ``workloads`` (name -> callable, timed in the
    dict's order every round) over ``rounds`` rounds, after ``warmup`` untimed calls of each.
    ``measure(fn) -> seconds`` is one timing; ``on_round(index, rounds)`` is called before
    each round (progress). Raises ValueError for no workloads, rounds < 1 or warmup < 0."""
    if not workloads:
        raise ValueError('interleaved_rounds needs at least one workload, got none')
    if rounds < 1:
        raise ValueError(f'rounds must be >= 1, got {rounds}')
    if warmup < 0:
        raise ValueError(f'warmup must be >= 0, got {warmup}')
    for _ in range(warmup):
        for fn in workloads.values():
            fn()
    seconds = {name: [] for name in workloads}
    for index in range(1, rounds + 1):
        if on_round is not None:
            on_round(index, rounds)
        for name, fn in workloads.items():
            seconds[name].append(measure(fn))
    return {name: Rounds(tuple(values)) for name, values in seconds.items()}


def per_round_ratio(numerator, denominator):
    """Per round ``numerator / denominator`` of two :class:`Rounds` of the same rounds (e.g.
    ``per_round_ratio(peer, ours)``: our speed-up); ValueError when their lengths differ."""
    if len(numerator.values) != len(denominator.values):
        raise ValueError(f'per_round_ratio needs the same rounds on both sides, got '
                         f'{len(numerator.values)} and {len(denominator.values)}')
    return Rounds(tuple(a / b for a, b in zip(numerator.values, denominator.values)))


def speedup(ours, peer, rounds, warmup=1, measure=wall_clock):
    """(median seconds of ``ours``, of ``peer``, median per-round ratio peer / ours) of two
    callables timed in alternation by :func:`interleaved_rounds`."""
    times = interleaved_rounds({'ours': ours, 'peer': peer}, rounds, warmup, measure)
    return (times['ours'].median, times['peer'].median,
            per_round_ratio(times['peer'], times['ours']).median)
