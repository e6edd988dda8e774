"""tools/ablation.py: the seed loop and the reuse of finished runs (training stubbed:
mmdet_psroi_tools/ablation/training.py), the results written after every run, the refusal of
bad arguments, and end to end with a two-iteration schedule on a tiny synthetic data
set laid out like data/neon_trees (one class, COCO json under annotations/)."""
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from mmdet_psroi_tools.ablation import training
from tests.tools.tool_module import load_tool

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIGS = ['configs/neon_trees/rfcn_psroipool_mobilenetv2_neon-trees.py',
           'configs/neon_trees/faster-rcnn_roialign_mobilenetv2_neon-trees.py']
NAMES = [os.path.basename(c)[:-3] for c in CONFIGS]
PSROIALIGN = 'configs/neon_trees/rfcn_psroialign_mobilenetv2_neon-trees.py'


@pytest.fixture(scope='module')
def ablation():
    return load_tool('ablation.py', 'ablation_tool')


@pytest.fixture
def stub_training(monkeypatch):
    """Replaces the runner: records (model, seed) of every training, writes a checkpoint file
    and returns metrics that depend on the model and the seed."""
    trained = []

    def train_and_evaluate(cfg):
        name = os.path.basename(os.path.dirname(cfg.work_dir))
        seed = cfg.randomness.seed
        trained.append((name, seed))
        os.makedirs(cfg.work_dir, exist_ok=True)
        open(os.path.join(cfg.work_dir, 'iter_2.pth'), 'w').close()
        offset = 0.1 if name == NAMES[1] else 0.0
        metrics = {'coco/bbox_mAP': 0.1 + offset + 0.01 * seed,
                   'coco/bbox_mAP_50': 0.3 + offset + 0.02 * seed,
                   'coco/bbox_mAP_75': 0.05 + offset}
        return 5.0, metrics, 'iter_2.pth'

    monkeypatch.setattr(training, 'train_and_evaluate', train_and_evaluate)
    return trained


def collect(ablation, out, *extra):
    args = ablation.parse_args([*CONFIGS, '--work-dir', out, '--max-iters', '2', *extra])
    return ablation.collect_runs(args)


def test_seeds_are_the_outer_loop_and_set_in_the_config(ablation, stub_training, tmp_path):
    out = str(tmp_path)
    records = collect(ablation, out, '--seeds', '2')
    assert stub_training == [(NAMES[0], 0), (NAMES[1], 0), (NAMES[0], 1), (NAMES[1], 1)]
    assert [(r['model'], r['seed'], r['reused']) for r in records] == \
        [(name, seed, False) for name, seed in stub_training]
    with open(os.path.join(records[2]['work_dir'], 'config.py')) as f:
        assert "seed=1" in f.read()

    with open(os.path.join(out, 'results.json')) as f:
        results = json.load(f)
    assert results['seeds'] == [0, 1] and results['baseline'] == NAMES[1]
    assert len(results['runs']) == 4
    rfcn, baseline = results['models']
    assert rfcn['bbox_mAP_50']['values'] == pytest.approx([0.30, 0.32])
    assert rfcn['bbox_mAP_50']['mean'] == pytest.approx(0.31)
    assert rfcn['bbox_mAP_50']['std'] == pytest.approx(0.02 / 2 ** 0.5)
    difference = rfcn['difference_to_baseline']['bbox_mAP_50']
    assert difference['seeds'] == [0, 1]
    assert difference['differences'] == pytest.approx([-0.1, -0.1])
    assert difference['low'] == pytest.approx(-0.1) and difference['high'] == pytest.approx(-0.1)
    assert 'difference_to_baseline' not in baseline
    with open(os.path.join(out, 'results.md')) as f:
        table = f.read()
    assert '0.310 ± 0.014' in table and '-0.100 [-0.100, -0.100]' in table


def test_finished_runs_are_reused_and_only_new_work_is_trained(ablation, stub_training,
                                                               tmp_path, capsys):
    out = str(tmp_path)
    collect(ablation, out, '--seeds', '2')
    stub_training.clear()

    records = collect(ablation, out, '--seeds', '2')  # everything finished: nothing trained
    assert stub_training == [] and all(r['reused'] for r in records)
    assert f'reusing {NAMES[0]} seed 1: finished' in capsys.readouterr().out

    records = collect(ablation, out, '--seeds', '3')  # one more seed: only its runs
    assert stub_training == [(NAMES[0], 2), (NAMES[1], 2)]
    assert [r['reused'] for r in records] == [True] * 4 + [False] * 2
    stub_training.clear()

    args = ablation.parse_args([PSROIALIGN, *CONFIGS, '--work-dir', out, '--max-iters', '2',
                                '--seeds', '2'])  # one more model: only its seeds
    ablation.collect_runs(args)
    assert stub_training == [('rfcn_psroialign_mobilenetv2_neon-trees', 0),
                             ('rfcn_psroialign_mobilenetv2_neon-trees', 1)]


def test_a_changed_config_trains_beside_the_finished_runs(ablation, stub_training, tmp_path,
                                                          capsys):
    out = str(tmp_path)
    first = collect(ablation, out)
    stub_training.clear()
    changed = collect(ablation, out, '--cfg-options', 'train_dataloader.batch_size=4')
    assert stub_training == [(NAMES[0], 0), (NAMES[1], 0)]
    assert 'the finished runs of this seed have other configs (kept: ' in capsys.readouterr().out
    assert {r['work_dir'] for r in first}.isdisjoint(r['work_dir'] for r in changed)
    stub_training.clear()
    assert all(r['reused'] for r in collect(ablation, out))  # going back reuses the first

    os.remove(os.path.join(changed[1]['work_dir'], 'run.json'))  # stopped before it finished
    collect(ablation, out, '--cfg-options', 'train_dataloader.batch_size=4')
    assert stub_training == [(NAMES[1], 0)]
    stub_training.clear()
    collect(ablation, out, '--retrain')
    assert stub_training == [(NAMES[0], 0), (NAMES[1], 0)]


@pytest.mark.parametrize('argv, message', [
    (['--seeds', '0'], 'argument --seeds: must be >= 1, got 0'),
    (['--timing-rounds', '0'], 'argument --timing-rounds: must be >= 1, got 0'),
    (['--max-iters', '0'], 'argument --max-iters: must be >= 1, got 0'),
    (['--baseline', 'faster-rcnn'], '--baseline faster-rcnn is not one of the models compared: '
                                    'rfcn_psroipool_mobilenetv2_neon-trees, '
                                    'faster-rcnn_roialign_mobilenetv2_neon-trees'),
    (['--cfg-options', 'randomness.seed=3'], '--cfg-options must not set randomness.seed'),
    (['--configs', CONFIGS[0]], 'either as positional arguments or with --configs'),
    ([CONFIGS[0]], 'the models compared need distinct names, repeated: ' + NAMES[0]),
    (['missing.py'], 'argument CONFIG: no such file: missing.py'),
])
def test_bad_arguments_are_refused_before_training(ablation, argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        ablation.parse_args([*CONFIGS, *argv])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_the_default_baseline_is_the_last_config(ablation):
    assert ablation.parse_args([]).baseline == 'faster-rcnn_roialign_mobilenetv2_neon-trees'
    assert ablation.parse_args(['--configs', *CONFIGS, '--baseline', NAMES[0]]).baseline == \
        NAMES[0]


def write_tree_dataset(root):
    """A tiny COCO-style tree dataset under ``root``: ``train`` and ``val`` splits of 4 64x64
    images with 3 boxes each (random positions from seed 0)."""
    rng = np.random.default_rng(0)
    write_tree_split(root, 'train', 4, rng)
    write_tree_split(root, 'val', 4, rng)


def write_tree_split(root, split, count, rng):
    os.makedirs(os.path.join(root, split), exist_ok=True)
    images, annotations = [], []
    for index in range(count):
        image = np.full((64, 64, 3), 90, np.uint8)
        name = f'{split}/{index}.png'
        for _ in range(3):
            x, y = rng.integers(0, 44, 2)
            image[y:y + 16, x:x + 16] = (30, 160, 40)
            annotations.append(dict(id=len(annotations) + 1, image_id=index + 1, category_id=1,
                                    bbox=[int(x), int(y), 16, 16], area=256, iscrowd=0))
        cv2.imwrite(os.path.join(root, name), image)
        images.append(dict(id=index + 1, file_name=name, width=64, height=64))
    os.makedirs(os.path.join(root, 'annotations'), exist_ok=True)
    with open(os.path.join(root, 'annotations', f'{split}.json'), 'w') as f:
        json.dump(dict(images=images, annotations=annotations,
                       categories=[dict(id=1, name='tree')]), f)


def run_ablation(data_root, out):
    command = [sys.executable, 'tools/ablation.py', '--configs', *CONFIGS, '--data-root',
               data_root, '--max-iters', '2', '--seeds', '2', '--work-dir', out,
               '--show-images', '2', '--timing-rounds', '2',
               '--cfg-options', 'model.backbone.init_cfg=None']
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def check_error_breakdown(out, runs):
    """tools/analysis_tools/error_breakdown.py on the trained runs: its AP at IoU 0.5 is
    CocoMetric's AP50 of each run (rounded to 3 digits there)."""
    breakdown = os.path.join(out, 'error_breakdown.json')
    result = subprocess.run(
        [sys.executable, 'tools/analysis_tools/error_breakdown.py',
         *[os.path.join(out, name) for name in NAMES], '--out', breakdown],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert '| model | seeds | AP@0.1 |' in result.stdout
    with open(breakdown) as f:
        runs_by_model = json.load(f)['runs']
    for run in runs:
        found = runs_by_model[run['model']][run['seed']]
        assert found['seed'] == run['seed']
        assert found['AP@0.5'] == pytest.approx(run['bbox_mAP_50'], abs=6e-4)
        assert 0.0 <= found['proposal_recall@0.5'] <= 1.0


@pytest.mark.slow
def test_two_iteration_two_seed_ablation_writes_every_output(tmp_path):
    data_root = str(tmp_path / 'data')
    write_tree_dataset(data_root)
    out = str(tmp_path / 'out')
    stdout = run_ablation(data_root, out)
    assert '[ablation] run 4/4' in stdout and '| model | seeds | mAP |' in stdout
    assert stdout.index('run 4/4') < stdout.index('timing inference, round 2/2')
    assert 'reused 0 of 4 finished runs' in stdout
    assert 'Iter(test)' in stdout and 'Iter(val)' not in stdout  # evaluated once per run

    with open(os.path.join(out, 'results.json')) as f:
        results = json.load(f)
    assert [m['model'] for m in results['models']] == NAMES
    assert [(r['model'], r['seed']) for r in results['runs']] == \
        [(NAMES[0], 0), (NAMES[1], 0), (NAMES[0], 1), (NAMES[1], 1)]
    for r in results['runs']:
        for key in ('bbox_mAP', 'bbox_mAP_50', 'bbox_mAP_75'):
            assert 0.0 <= r[key] <= 1.0 or r[key] == -1.0
        assert r['inference_ms_median'] > 0 and len(r['inference_ms']) == 2  # one per round
        assert r['loss_curve']
        assert os.path.isfile(os.path.join(r['work_dir'], 'iter_2.pth'))
    rfcn = results['models'][0]
    assert rfcn['bbox_mAP_50']['n'] == 2 and rfcn['inference_ms_median'] > 0
    assert rfcn['difference_to_baseline']['bbox_mAP_50']['low'] is not None
    for name in ['results.md', 'ap.png', 'latency.png', 'loss_curves.png'] + \
            [f'predictions_{name}.png' for name in NAMES]:
        assert os.path.getsize(os.path.join(out, name)) > 0, name

    check_error_breakdown(out, results['runs'])

    stdout = run_ablation(data_root, out)  # a second run reuses every run, keeps the results
    assert '[ablation] training' not in stdout
    assert 'reused 4 of 4 finished runs' in stdout
    assert os.path.isfile(os.path.join(out, 'results.previous.json'))
