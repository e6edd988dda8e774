"""Interleaved timing rounds: the benchmarks' one way of timing workloads against each other.

Every round times each workload once, in the same order; a change in the machine's speed during
the run (other processes, clock, heat) therefore reaches all workloads alike, and a per-round
ratio of two workloads cancels it. A workload is called ``warmup`` times, untimed, before the
first round (first-call allocations, lazy initialisation, autotuning).

    from mmdet_psroi_tools.timing import interleaved_rounds, per_round_ratio

    times = interleaved_rounds({'ours': run_ours, 'peer': run_peer}, rounds=7)
    speedup = per_round_ratio(times['peer'], times['ours'])  # per round: peer / ours
    print(f'ours {times["ours"]} s, speed-up {speedup}')  # median [low, high] over rounds

``measure`` says what one timing is: :func:`wall_clock` (default) times one call;
:func:`synchronized` also waits for a GPU's queued work before and after it; any
``measure(fn) -> seconds`` does (e.g. the mean over several calls, or CUDA events).
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


def synchronized(device):
    """A ``measure`` that times one call of ``fn`` on ``device`` (a ``torch.device``) with
    its queued GPU work: it synchronizes the device before and after the call."""
    import torch

    def measure(fn):
        if device.type != 'cuda':
            return wall_clock(fn)
        torch.cuda.synchronize(device)
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize(device)
        return time.perf_counter() - start

    return measure


def interleaved_rounds(workloads, rounds, warmup=1, measure=wall_clock, on_round=None):
    """Time ``workloads`` in turn, round after round.

    Args:
        workloads (dict): name -> callable taking no argument; the dict's order is the order
            in which every round times them.
        rounds (int): timed rounds (>= 1).
        warmup (int): untimed calls of every workload before the first round (>= 0).
        measure (callable): ``measure(fn) -> seconds`` of one timing of ``fn``
            (default :func:`wall_clock`).
        on_round (callable, optional): called with the round number (1, 2, ...) and
            ``rounds`` before each round (progress messages).

    Returns:
        dict: name -> :class:`Rounds` of that workload's seconds, in round order.

    Raises:
        ValueError: for no workloads, ``rounds`` < 1 or ``warmup`` < 0.
    """
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
    """Per round ``numerator / denominator`` of two :class:`Rounds` timed in the same
    rounds, as :class:`Rounds` (e.g. ``per_round_ratio(peer, ours)``: the speed-up of ours over
    the peer).

    Raises:
        ValueError: when they hold different numbers of rounds.
    """
    if len(numerator.values) != len(denominator.values):
        raise ValueError(f'per_round_ratio needs the same rounds on both sides, got '
                         f'{len(numerator.values)} and {len(denominator.values)}')
    return Rounds(tuple(a / b for a, b in zip(numerator.values, denominator.values)))
