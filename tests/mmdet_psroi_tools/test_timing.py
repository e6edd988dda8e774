import pytest

from mmdet_psroi_tools.timing import (
    Rounds,
    interleaved_rounds,
    per_round_ratio,
    speedup,
    wall_clock,
)


class Recorder:
    """Workloads that log their calls, and a measure that logs what it times and returns
    preset seconds per workload, round after round."""

    def __init__(self, seconds):
        self.seconds = {name: list(values) for name, values in seconds.items()}
        self.calls = []
        self.workloads = {name: (lambda name=name: self.calls.append(name))
                          for name in seconds}

    def measure(self, fn):
        fn()
        name = self.calls[-1]
        self.calls[-1] = f'timed {name}'
        return self.seconds[name].pop(0)


def test_rounds_time_every_workload_in_turn_after_the_warmup():
    recorder = Recorder({'a': [1.0, 4.0, 2.0], 'b': [2.0, 6.0, 5.0]})
    progress = []
    times = interleaved_rounds(recorder.workloads, rounds=3, warmup=2,
                               measure=recorder.measure,
                               on_round=lambda index, total: progress.append((index, total)))
    assert recorder.calls == ['a', 'b', 'a', 'b'] + ['timed a', 'timed b'] * 3
    assert progress == [(1, 3), (2, 3), (3, 3)]
    assert list(times) == ['a', 'b']
    assert times['a'] == Rounds((1.0, 4.0, 2.0))
    assert (times['a'].median, times['a'].low, times['a'].high) == (2.0, 1.0, 4.0)
    assert times['a'].spread == pytest.approx(1.5)
    speedup = per_round_ratio(times['b'], times['a'])
    assert speedup.values == (2.0, 1.5, 2.5) and speedup.median == 2.0
    assert str(speedup) == '2 [1.5, 2.5]'


def test_wall_clock_times_one_call():
    calls = []
    seconds = wall_clock(lambda: calls.append(1))
    assert calls == [1] and 0 <= seconds < 1
    times = interleaved_rounds({'x': lambda: calls.append(2)}, rounds=2, warmup=0)
    assert calls == [1, 2, 2] and len(times['x'].values) == 2


@pytest.mark.parametrize('kwargs, message', [
    (dict(workloads={}, rounds=1), 'at least one workload'),
    (dict(workloads={'a': print}, rounds=0), 'rounds must be >= 1, got 0'),
    (dict(workloads={'a': print}, rounds=1, warmup=-1), 'warmup must be >= 0, got -1'),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        interleaved_rounds(**kwargs)


def test_ratio_needs_the_same_rounds():
    with pytest.raises(ValueError, match='same rounds on both sides, got 2 and 1'):
        per_round_ratio(Rounds((1.0, 2.0)), Rounds((1.0,)))


def test_speedup_is_the_median_of_the_per_round_ratios():
    recorder = Recorder({'ours': [1.0, 2.0, 4.0], 'peer': [3.0, 2.0, 12.0]})
    ours, peer = recorder.workloads.values()
    assert speedup(ours, peer, rounds=3, warmup=0, measure=recorder.measure) == (2.0, 3.0, 3.0)
    assert recorder.calls == ['timed ours', 'timed peer'] * 3
