"""mmdet_psroi_tools/ablation/training.py, the inference timing: per model, one median ms per
image per round, the warm-up images left out, and a clear error where too few images are left
to time."""
import pytest

from mmdet_psroi_tools.ablation.training import inference_seconds, time_interleaved


class CountingModel:
    """A model whose test_step records the images it saw (in ``seen``, which models may
    share)."""

    def __init__(self, seen=None):
        self.seen = [] if seen is None else seen

    def eval(self):
        return self

    def test_step(self, data):
        self.seen.append(data)


def test_the_warmup_images_are_not_timed():
    model = CountingModel()
    times = inference_seconds(model, ['a', 'b', 'c', 'd'], warmup=2)
    assert model.seen == ['a', 'b', 'c', 'd'] and len(times) == 2
    assert all(t >= 0 for t in times)


def test_too_few_images_is_a_clear_error():
    with pytest.raises(RuntimeError, match=r'more than 2 are needed'):
        inference_seconds(CountingModel(), ['a', 'b'], warmup=2)


def test_every_model_is_timed_once_per_round_in_turn(capsys):
    seen = []
    models = [(CountingModel(seen), ['1a', '1b', '1c']), (CountingModel(seen), ['2a', '2b', '2c'])]
    times = time_interleaved(models, rounds=2)
    assert len(times) == 2 and all(len(per_model) == 2 for per_model in times)
    assert all(ms >= 0 for per_model in times for ms in per_model)
    # Per round one pass of every model, in turn; no warm-up pass.
    assert seen == ['1a', '1b', '1c', '2a', '2b', '2c'] * 2
    assert 'timing inference, round 2/2' in capsys.readouterr().out
