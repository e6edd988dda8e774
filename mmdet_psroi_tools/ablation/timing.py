"""Inference time of the ablation's trained models, in one process and interleaved rounds
(each times one pass of every model over its val split), so that a change in the machine's
speed hits all alike."""
import functools
import statistics
import time

import torch

from ..timing import interleaved_rounds
from .training import say


def inference_seconds(model, dataloader, warmup=2):
    """Seconds per image (batch 1) of one pass, the first ``warmup`` images left out."""
    model.eval()
    times = []
    with torch.no_grad():
        for index, data in enumerate(dataloader):
            start = time.perf_counter()
            model.test_step(data)
            if index >= warmup:
                times.append(time.perf_counter() - start)
    if not times:
        raise RuntimeError(f'not enough val images to time inference (more than {warmup} '
                           'are needed)')
    return times


def time_interleaved(trained, rounds):
    """Per (model, dataloader) of ``trained``: per round, the median ms per image of a pass."""
    times = interleaved_rounds(
        {index: functools.partial(inference_seconds, *pair) for index, pair in enumerate(trained)},
        rounds, warmup=0, measure=lambda one_pass: statistics.median(one_pass()),
        on_round=lambda index, total: say(f'timing inference, round {index}/{total}'))
    return [[seconds * 1e3 for seconds in per_model.values] for per_model in times.values()]
