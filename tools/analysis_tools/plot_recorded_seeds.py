"""Draw the NEON demo's plots (docs/neon_demo.md) from the per-seed values recorded in the docs.

AP50 over seeds and the median ms per val tile (coloured by the run that timed it); it trains
nothing.
"""
import argparse
import json
import os.path as osp

from mmdet_psroi_tools.outputs import figure, means_over_seeds

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_DATA = osp.join(REPO, 'docs', 'data', 'neon_trees_seeds.json')
AP50_PLOT = 'neon_trees_ap50_seeds.png'
LATENCY_PLOT = 'neon_trees_latency.png'


def load(path):
    """The data file, checked: every model names a recorded run and has at least one seed."""
    with open(path) as f:
        data = json.load(f)
    for model in data['models']:
        if model['run'] not in data['runs']:
            raise ValueError(f"{path}: model {model['label']!r} names run {model['run']!r}, "
                             f"expected one of {sorted(data['runs'])}")
        if not model['ap50_per_seed']:
            raise ValueError(f"{path}: model {model['label']!r} has no ap50_per_seed values")
    return data


def plot(data, out_dir):
    models = data['models']
    labels = [f"{m['label']}\n({len(m['ap50_per_seed'])} seeds)".replace(', ', ',\n', 1)
              for m in models]
    paths = [osp.join(out_dir, AP50_PLOT), osp.join(out_dir, LATENCY_PLOT)]
    means_over_seeds(paths[0], 'NEON tree crowns: AP50 over seeds (recorded values)',
                     'AP50 on the 12 val tiles', labels,
                     [('AP50', [m['ap50_per_seed'] for m in models])], (9, 4.8), fontsize=8)
    with figure(paths[1], 'NEON tree crowns: inference on 2 CPU threads (recorded values)',
                'ms per val tile (median)', labels, (9, 4.8), fontsize=8) as (ax, colors):
        for run_index, (run, recorded) in enumerate(data['runs'].items()):
            members = [i for i, m in enumerate(models) if m['run'] == run]
            ax.bar(members, [models[i]['inference_ms_median'] for i in members], 0.55,
                   alpha=0.7, color=colors[run_index % len(colors)],
                   label=f"timed in the {run} run ({recorded['date']})")
        ax.legend(fontsize=8)
    return paths


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('data', nargs='?', default=DEFAULT_DATA,
                        help='the recorded values (default: docs/data/neon_trees_seeds.json)')
    parser.add_argument('--out-dir', help='where the PNGs go (default: docs/)')
    args = parser.parse_args(argv)
    out_dir = args.out_dir or osp.dirname(osp.dirname(osp.abspath(args.data)))
    if not osp.isdir(out_dir):
        parser.error(f'--out-dir {out_dir!r} is not a folder')
    for path in plot(load(args.data), out_dir):
        print(path)


if __name__ == '__main__':
    main()
