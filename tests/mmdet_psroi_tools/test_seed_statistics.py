"""Means, standard deviations and paired t intervals over seeds against hand-computed values."""
import math

import pytest

from mmdet_psroi_tools.seed_statistics import (
    mean_std,
    over_seeds,
    paired_difference,
    paired_over_seeds,
    t_quantile,
)

# Student's t 0.975 quantiles from printed tables: 1 and 2 degrees of freedom, and the normal
# limit.
T_975 = {1: 12.706204736, 2: 4.302652730}


def test_t_quantiles_match_the_tables():
    for dof, value in T_975.items():
        assert t_quantile(0.975, dof) == pytest.approx(value, abs=1e-8)
    assert t_quantile(0.975, 10**9) == pytest.approx(1.959964, abs=1e-6)


def test_mean_and_sample_standard_deviation():
    # deviations -0.02, 0, +0.02: variance (0.0004 + 0.0004) / (3 - 1) = 0.0004
    stats = mean_std([0.40, 0.42, 0.44])
    assert stats['n'] == 3
    assert stats['mean'] == pytest.approx(0.42, abs=1e-12)
    assert stats['std'] == pytest.approx(0.02, abs=1e-12)


def test_one_value_has_no_standard_deviation():
    assert mean_std([0.5]) == dict(n=1, mean=0.5, std=None)


def test_paired_interval_of_three_seeds():
    # d = 0.02, 0.01, 0.03: mean 0.02, sd 0.01, half width 4.30265 * 0.01 / sqrt(3)
    difference = paired_difference([0.40, 0.42, 0.44], [0.38, 0.41, 0.41])
    assert difference['differences'] == pytest.approx([0.02, 0.01, 0.03], abs=1e-12)
    assert difference['mean'] == pytest.approx(0.02, abs=1e-12)
    assert difference['std'] == pytest.approx(0.01, abs=1e-12)
    half_width = 0.0248413
    assert difference['low'] == pytest.approx(0.02 - half_width, abs=1e-6)
    assert difference['high'] == pytest.approx(0.02 + half_width, abs=1e-6)
    assert difference['confidence'] == 0.95


def test_paired_interval_of_two_seeds_uses_one_degree_of_freedom():
    # d = 0.01, 0.03: mean 0.02, sd sqrt(2) * 0.01, half width 12.7062 * 0.01
    difference = paired_difference([0.11, 0.13], [0.10, 0.10])
    assert difference['std'] == pytest.approx(math.sqrt(2) * 0.01, abs=1e-12)
    assert difference['low'] == pytest.approx(0.02 - 0.127062, abs=1e-6)
    assert difference['high'] == pytest.approx(0.02 + 0.127062, abs=1e-6)


def test_a_model_behind_in_every_seed_can_still_have_an_interval_across_zero():
    # AP50 of R-FCN PSRoIAlign and the baseline over seeds 0/1/2 on one machine:
    # d = -0.088, -0.025, -0.053; mean -0.055333, sd 0.031565, half width 0.078411
    difference = paired_difference([0.334, 0.371, 0.355], [0.422, 0.396, 0.408])
    assert difference['mean'] == pytest.approx(-0.055333, abs=1e-6)
    assert difference['std'] == pytest.approx(0.031565, abs=1e-6)
    assert difference['low'] == pytest.approx(-0.133745, abs=1e-5)
    assert difference['high'] == pytest.approx(0.023078, abs=1e-5)


def test_pairing_matters():
    # The same values unpaired would spread far more: the shared per-seed shift cancels.
    difference = paired_difference([0.30, 0.40, 0.50], [0.29, 0.39, 0.49])
    assert difference['std'] == pytest.approx(0.0, abs=1e-12)
    assert difference['low'] == pytest.approx(0.01, abs=1e-12)
    assert difference['high'] == pytest.approx(0.01, abs=1e-12)


def test_one_seed_gives_a_difference_without_interval():
    difference = paired_difference([0.404], [0.407])
    assert difference['mean'] == pytest.approx(-0.003, abs=1e-12)
    assert difference['std'] is None
    assert difference['low'] is None and difference['high'] is None


@pytest.mark.parametrize('values, baseline, confidence, message', [
    ([0.1, 0.2], [0.1], 0.95, '2 values and 1 baseline values'),
    ([], [], 0.95, 'at least one value'),
    ([0.1], [0.1], 1.0, 'confidence must be in (0, 1), got 1.0'),
])
def test_bad_input_is_refused(values, baseline, confidence, message):
    with pytest.raises(ValueError, match=message.replace('(', r'\(').replace(')', r'\)')):
        paired_difference(values, baseline, confidence)


def test_runs_are_summarised_per_key_and_paired_by_seed_not_by_position():
    runs = [dict(seed=2, ap=0.44, mAP=0.2), dict(seed=0, ap=0.40, mAP=0.1),
            dict(seed=1, ap=0.42, mAP=0.1)]
    baseline = [dict(seed=1, ap=0.40, mAP=0.0), dict(seed=2, ap=0.40, mAP=0.0)]
    summary = over_seeds(runs, ['ap'])
    assert list(summary) == ['ap'] and summary['ap']['values'] == [0.44, 0.40, 0.42]
    assert summary['ap']['mean'] == pytest.approx(0.42)
    difference = paired_over_seeds(runs, baseline, ['ap', 'mAP'])
    assert difference['ap']['seeds'] == [2, 1]  # seed 0 has no baseline run
    assert difference['ap']['differences'] == pytest.approx([0.04, 0.02])
    assert difference['mAP']['differences'] == pytest.approx([0.2, 0.1])
    assert paired_over_seeds(runs, [dict(seed=5, ap=0.3)], ['ap']) == {}


def test_a_summary_with_a_baseline_holds_the_paired_difference_of_the_keys_it_has():
    runs = [dict(seed=0, ap=0.40, recall=0.7), dict(seed=1, ap=0.42, recall=0.8)]
    baseline = [dict(seed=1, ap=0.40, recall=None)]  # e.g. no proposal recall: no RPN
    summary = over_seeds(runs, ['ap', 'recall'], baseline)
    assert summary['recall']['mean'] == pytest.approx(0.75)
    assert list(summary['difference_to_baseline']) == ['ap']
    assert summary['difference_to_baseline']['ap']['seeds'] == [1]
    assert summary['difference_to_baseline']['ap']['mean'] == pytest.approx(0.02)
    assert 'difference_to_baseline' not in over_seeds(runs, ['ap'], [dict(seed=5, ap=0.3)])
    assert 'difference_to_baseline' not in over_seeds(runs, ['ap'], [])
