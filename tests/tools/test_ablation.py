"""tools/ablation.py end to end with a two-iteration schedule on a tiny synthetic data set laid
out like data/neon_trees (one class, COCO json under annotations/)."""
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIGS = ['configs/neon_trees/rfcn_psroipool_mobilenetv2_neon-trees.py',
           'configs/neon_trees/faster-rcnn_roialign_mobilenetv2_neon-trees.py']


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
               data_root, '--max-iters', '2', '--work-dir', out, '--show-images', '2',
               '--timing-rounds', '2',
               '--cfg-options', 'model.backbone.init_cfg=None']
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


@pytest.mark.slow
def test_two_iteration_ablation_writes_every_output(tmp_path):
    rng = np.random.default_rng(0)
    data_root = str(tmp_path / 'data')
    write_tree_split(data_root, 'train', 4, rng)
    write_tree_split(data_root, 'val', 4, rng)
    out = str(tmp_path / 'out')
    stdout = run_ablation(data_root, out)
    assert '[ablation] model 2/2' in stdout and '| model | mAP |' in stdout
    assert stdout.index('model 2/2') < stdout.index('timing inference, round 2/2')

    with open(os.path.join(out, 'results.json')) as f:
        results = json.load(f)['results']
    assert [r['model'] for r in results] == [os.path.basename(c)[:-3] for c in CONFIGS]
    for r in results:
        for key in ('bbox_mAP', 'bbox_mAP_50', 'bbox_mAP_75'):
            assert 0.0 <= r[key] <= 1.0 or r[key] == -1.0
        assert r['inference_ms_median'] > 0 and r['loss_curve']
    for name in ['results.md', 'ap.png', 'latency.png', 'loss_curves.png'] + \
            [f'predictions_{r["model"]}.png' for r in results]:
        assert os.path.getsize(os.path.join(out, name)) > 0, name
    for r in results:  # checkpoints kept
        assert os.path.isfile(os.path.join(out, r['model'], 'iter_2.pth'))

    run_ablation(data_root, out)  # a second run keeps the first one's results
    assert os.path.isfile(os.path.join(out, 'results.previous.json'))


@pytest.mark.parametrize('option, value', [('--timing-rounds', '0'), ('--max-iters', '0')])
def test_a_count_below_one_is_refused_before_training(option, value):
    result = subprocess.run([sys.executable, 'tools/ablation.py', option, value], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert f'{option} must be >= 1, got 0' in result.stderr
