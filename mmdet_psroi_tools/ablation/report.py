"""The ablation's report: per model the mean and std over seeds, every seed's values and the
paired difference to a baseline, as results.json, results.md and plots. A run is a record of
:mod:`.training` (``inference_ms``: the median ms per image of each timing round)."""
import os
import os.path as osp
import platform
import statistics

from ..outputs import figure, means_over_seeds, replaced, table, write_json
from ..seed_statistics import CI_METHOD, mean_std, over_seeds

METRICS = ('bbox_mAP', 'bbox_mAP_50', 'bbox_mAP_75')
LABELS = dict(bbox_mAP='mAP', bbox_mAP_50='AP50', bbox_mAP_75='AP75')


def checked_baseline(parser, models, baseline):
    """``baseline`` (default: the last of ``models``); an argparse error for a repeated model
    name (runs and results are named after them) or a baseline that is none of them."""
    repeated = sorted({m for m in models if models.count(m) > 1})
    if repeated:
        parser.error(f'the models compared need distinct names, repeated: {", ".join(repeated)}')
    if (baseline or models[-1]) not in models:
        parser.error(f'--baseline {baseline} is not one of the models compared: '
                     f'{", ".join(models)}')
    return baseline or models[-1]


def summarize(runs, models, baseline):
    """Per model (in ``models`` order, those with a run): metrics over seeds, the median
    inference time over all its seeds' images, and the paired difference to ``baseline``."""
    by_model = {name: sorted((r for r in runs if r['model'] == name), key=lambda r: r['seed'])
                for name in models}
    timed = {name: statistics.median(t for r in model_runs for t in r['inference_ms'])
             for name, model_runs in by_model.items()
             if model_runs and all('inference_ms' in r for r in model_runs)}
    summaries = []
    for name, model_runs in by_model.items():
        if not model_runs:
            continue
        summary = dict(model=name, config=model_runs[0]['config'],
                       seeds=[r['seed'] for r in model_runs],
                       reused_seeds=[r['seed'] for r in model_runs if r.get('reused')],
                       train_seconds=mean_std([r['train_seconds'] for r in model_runs]),
                       **over_seeds(model_runs, METRICS,
                                    None if name == baseline else by_model[baseline]))
        if name in timed:
            summary.update(
                inference_ms_median=timed[name],
                inference_ms_median_per_seed=[r['inference_ms_median'] for r in model_runs])
        if name in timed and baseline in timed:
            summary['inference_vs_baseline'] = timed[name] / timed[baseline]
        summaries.append(summary)
    return summaries


def mean_pm_std(stats, digits=3):
    if stats['std'] is None:
        return f"{stats['mean']:.{digits}f}"
    return f"{stats['mean']:.{digits}f} ± {stats['std']:.{digits}f}"


def difference_with_interval(difference):
    if difference['low'] is None:
        return f"{difference['mean']:+.3f} (1 seed: no interval)"
    return f"{difference['mean']:+.3f} [{difference['low']:+.3f}, {difference['high']:+.3f}]"


def markdown(summaries, runs, baseline, environment):
    """results.md: means ± std, differences with their intervals, every seed's values."""
    def timed(stats, missing=''):
        return f"{stats['inference_ms_median']:.1f}" if 'inference_ms_median' in stats else missing

    labels, ms = list(LABELS.values()), 'inference ms/image (median)'
    lines = table(['model', 'seeds', *labels, ms, 'vs. baseline', 'train s (mean)'], [
        [s['model'] + (' (baseline)' if s['model'] == baseline else ''), len(s['seeds']),
         *(mean_pm_std(s[key]) for key in METRICS), timed(s, 'not timed yet'),
         f"{s['inference_vs_baseline']:.2f}x" if 'inference_vs_baseline' in s else '',
         f"{s['train_seconds']['mean']:.0f}"] for s in summaries])
    compared = [s for s in summaries if 'difference_to_baseline' in s]
    if compared:
        lines += ['', f'Difference to the baseline ({baseline}), mean over seeds with its '
                  '95 % confidence interval:', ''] + table(['model', 'seeds paired', *labels], [
            [s['model'], len(s['difference_to_baseline'][METRICS[0]]['seeds']),
             *(difference_with_interval(s['difference_to_baseline'][key]) for key in METRICS)]
            for s in compared])
    order = {s['model']: index for index, s in enumerate(summaries)}
    lines += ['', 'Every seed:', ''] + table(['model', 'seed', *labels, ms, 'train s', 'reused'], [
        [r['model'], r['seed'], *(f'{r[key]:.3f}' for key in METRICS), timed(r),
         f"{r['train_seconds']:.0f}", 'yes' if r.get('reused') else 'no']
        for r in sorted(runs, key=lambda r: (order[r['model']], r['seed']))])
    lines += ['', f"AP on the val split with mmdet CocoMetric; ± is the standard deviation "
              f"over seeds (n-1). Interval: {CI_METHOD}. Inference timed in one process, "
              f"{environment['threads']} threads, interleaved rounds over every trained model. "
              f"torch {environment['torch']}, CPU: {environment['cpu']}."]
    return '\n'.join(lines) + '\n'


def plot(summaries, runs, out_dir, environment):
    """ap.png and latency.png (when timed): mean, std, one point per seed; loss_curves.png:
    one line per seed."""
    names = [s['model'].replace('_mobilenetv2_neon-trees', '') for s in summaries]
    seeds = max(len(s['seeds']) for s in summaries)
    means_over_seeds(osp.join(out_dir, 'ap.png'), f'Accuracy over {seeds} seed(s), points = '
                     'seeds', 'AP (val)', names,
                     [(LABELS[key], [s[key]['values'] for s in summaries]) for key in METRICS])
    if all('inference_ms_median' in s for s in summaries):
        means_over_seeds(osp.join(out_dir, 'latency.png'), 'Inference on the CPU, '
                         f"{environment['threads']} threads, points = seeds",
                         'ms / image (median of a pass)', names,
                         [('ms', [s['inference_ms_median_per_seed'] for s in summaries])])
    with figure(osp.join(out_dir, 'loss_curves.png'), None,
                'training loss (one line per seed)') as (ax, colors):
        for index, s in enumerate(summaries):
            curves = [r['loss_curve'] for r in runs if r['model'] == s['model'] and r['loss_curve']]
            for number, curve in enumerate(curves):
                ax.plot(*zip(*curve), color=colors[index % len(colors)], linewidth=1,
                        label=None if number else names[index])
        ax.set_xlabel('iteration')
        if ax.get_legend_handles_labels()[0]:
            ax.legend()


def draw_predictions(model, dataloader, name, out_dir, count, score_thr=0.3):
    """predictions_<name>.png: a row of ``count`` val tiles with ground truth (green) and
    predictions scoring at least ``score_thr`` (red)."""
    import cv2
    import numpy as np
    import torch

    model.eval()
    tiles = []
    with torch.no_grad():
        for _, data in zip(range(count), dataloader):
            sample = model.test_step(data)[0]
            image = cv2.imread(sample.img_path)
            truth, pred = sample.gt_instances.bboxes, sample.pred_instances
            for boxes, color in ((getattr(truth, 'tensor', truth), (0, 200, 0)),
                                 (pred.bboxes[pred.scores >= score_thr], (0, 0, 255))):
                for box in boxes.int().tolist():
                    cv2.rectangle(image, tuple(box[:2]), tuple(box[2:]), color, 1)
            tiles.append(image)
    if tiles:
        height = min(t.shape[0] for t in tiles)
        row = np.concatenate([t[:height] for t in tiles], axis=1)
        cv2.imwrite(osp.join(out_dir, f'predictions_{name}.png'), row)


def cpu_name():
    try:
        with open('/proc/cpuinfo') as f:
            return next(line.split(':', 1)[1].strip() for line in f
                        if line.startswith('model name'))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def write_results(runs, models, baseline, out_dir):
    """results.json (every run, every statistic), results.md and the plots."""
    import torch

    summaries = summarize(runs, models, baseline)
    env = dict(torch=torch.__version__, threads=torch.get_num_threads(), cpu=cpu_name(),
               logical_cpus=os.cpu_count())
    write_json(osp.join(out_dir, 'results.json'), dict(
        **env, seeds=sorted({r['seed'] for r in runs}), baseline=baseline, models=summaries,
        runs=[{k: v for k, v in r.items() if k != 'config_sha256'} for r in runs]))
    with replaced(osp.join(out_dir, 'results.md')) as tmp, open(tmp, 'w') as f:
        f.write(markdown(summaries, runs, baseline, env))
    plot(summaries, runs, out_dir, env)
