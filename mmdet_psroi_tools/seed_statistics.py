"""Statistics over training seeds: a metric's mean and standard deviation, and the difference
between two models with a paired t interval (:data:`CI_METHOD`): two models trained with the
same seed share its data order, augmentations and initialisation of the common parts, so their
per-seed differences are less noisy than two independent means. One seed gives no standard
deviation and no interval (``None``).
"""
import math
import statistics

CI_METHOD = ('paired t interval over seeds: d = model - baseline per seed, '
             'mean(d) +- t(0.975, n-1) * sd(d) / sqrt(n), sd with n-1; '
             'no interval with one seed')


def t_quantile(probability, dof):
    """The ``probability`` quantile of Student's t with ``dof`` degrees of freedom (scipy)."""
    from scipy.stats import t

    return float(t.ppf(probability, dof))


def mean_std(values):
    """``dict(n, mean, std)`` of ``values`` (sample std, n - 1; ``None`` for one value);
    ValueError for none."""
    values = [float(v) for v in values]
    if not values:
        raise ValueError('mean_std needs at least one value, got none')
    std = statistics.stdev(values) if len(values) > 1 else None
    return dict(n=len(values), mean=statistics.fmean(values), std=std)


def paired_difference(values, baseline, confidence=0.95):
    """Mean difference ``values - baseline`` (paired by position, i.e. by seed) with its
    paired t interval: ``differences``, ``n``, ``mean``, ``std``, ``confidence``, ``low`` and
    ``high`` (``None`` for one pair). ValueError for lists of other or no length, or a
    ``confidence`` outside (0, 1)."""
    if len(values) != len(baseline):
        raise ValueError(f'paired_difference needs one baseline value per value, got '
                         f'{len(values)} values and {len(baseline)} baseline values')
    if not 0 < confidence < 1:
        raise ValueError(f'confidence must be in (0, 1), got {confidence}')
    differences = [float(a) - float(b) for a, b in zip(values, baseline)]
    summary = mean_std(differences)
    low = high = None
    if summary['n'] > 1:
        half_width = (t_quantile(1 - (1 - confidence) / 2, summary['n'] - 1) *
                      summary['std'] / math.sqrt(summary['n']))
        low, high = summary['mean'] - half_width, summary['mean'] + half_width
    return dict(differences=differences, **summary, confidence=confidence, low=low, high=high)


def over_seeds(runs, keys):
    """Per key: every run's value (``values``, in ``runs`` order) and their
    :func:`mean_std`. A run is a dict with ``seed`` and the keys."""
    return {key: dict(values=[r[key] for r in runs], **mean_std([r[key] for r in runs]))
            for key in keys}


def paired_over_seeds(runs, baseline_runs, keys):
    """Per key: :func:`paired_difference` of ``runs`` against ``baseline_runs`` over the seeds
    both have (``seeds``, in ``runs`` order); ``{}`` when they share no seed."""
    baseline_by_seed = {r['seed']: r for r in baseline_runs}
    paired = [r for r in runs if r['seed'] in baseline_by_seed]
    if not paired:
        return {}
    return {key: dict(seeds=[r['seed'] for r in paired],
                      **paired_difference([r[key] for r in paired],
                                          [baseline_by_seed[r['seed']][key] for r in paired]))
            for key in keys}
