"""Statistics over training seeds: mean and standard deviation, and the paired difference of two
models (docs/neon_demo.md). One seed gives no standard deviation and no interval (``None``)."""
import math
import statistics

CI_METHOD = ('paired t interval over seeds: d = model - baseline per seed, '
             'mean(d) +- t(0.975, n-1) * sd(d) / sqrt(n), sd with n-1; '
             'no interval with one seed')


def t_quantile(probability, dof):
    """The ``probability`` quantile of Student's t with ``dof`` degrees of freedom."""
    from scipy.stats import t

    return float(t.ppf(probability, dof))


def mean_std(values):
    """``dict(n, mean, std)`` (sample std, n - 1); ValueError for no values."""
    values = [float(v) for v in values]
    if not values:
        raise ValueError('mean_std needs at least one value, got none')
    std = statistics.stdev(values) if len(values) > 1 else None
    return dict(n=len(values), mean=statistics.fmean(values), std=std)


def paired_difference(values, baseline, confidence=0.95):
    """Mean of ``values - baseline`` (paired by position) with :func:`mean_std`'s keys,
    ``differences``, ``confidence`` and the interval's ``low`` and ``high``. ValueError for
    lists of other or no length, or a ``confidence`` outside (0, 1)."""
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


def over_seeds(runs, keys, baseline_runs=None):
    """Per key: the runs' ``values`` (in ``runs`` order) and their :func:`mean_std`; given
    ``baseline_runs`` that share seeds with ``runs``, also ``difference_to_baseline``:
    :func:`paired_over_seeds` of the keys whose baseline value is not ``None``."""
    summary = {key: dict(values=[r[key] for r in runs], **mean_std([r[key] for r in runs]))
               for key in keys}
    if baseline_runs and (difference := paired_over_seeds(
            runs, baseline_runs, [k for k in keys if baseline_runs[0][k] is not None])):
        summary['difference_to_baseline'] = difference
    return summary


def paired_over_seeds(runs, baseline_runs, keys):
    """Per key: :func:`paired_difference` of ``runs`` against ``baseline_runs`` (dicts with
    ``seed`` and the keys) over the seeds both have (``seeds``, in ``runs`` order); ``{}``
    when they share none."""
    baseline_by_seed = {r['seed']: r for r in baseline_runs}
    paired = [r for r in runs if r['seed'] in baseline_by_seed]
    if not paired:
        return {}
    return {key: dict(seeds=[r['seed'] for r in paired],
                      **paired_difference([r[key] for r in paired],
                                          [baseline_by_seed[r['seed']][key] for r in paired]))
            for key in keys}
