"""tools/visualize_score_maps.py on a tiny randomly initialised R-FCN."""
import os
import subprocess
import sys

import cv2
import numpy as np
import torch
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
from mmengine.config import Config
from mmengine.runner import save_checkpoint

import mmdet_psroi  # noqa: F401
from tests.models.tiny import tiny_experiment_cfg, write_coco_dataset

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_draws_maps_and_bins(tmp_path):
    register_all_modules()
    ann_file = write_coco_dataset(str(tmp_path / 'data'), num_images=1)
    cfg = tiny_experiment_cfg(str(tmp_path / 'data'), ann_file)
    config = str(tmp_path / 'tiny.py')
    Config(cfg.to_dict()).dump(config)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    checkpoint = str(tmp_path / 'tiny.pth')
    save_checkpoint(dict(state_dict=model.state_dict(),
                         meta=dict(dataset_meta=dict(classes=('box', 'disc')))), checkpoint)
    image = str(tmp_path / 'image.png')
    cv2.imwrite(image, np.random.default_rng(0).integers(0, 255, (96, 96, 3), np.uint8))
    out = str(tmp_path / 'maps.png')
    base = [sys.executable, 'tools/visualize_score_maps.py', config, checkpoint, image]
    result = subprocess.run(base + ['--class-index', '1', '--roi', '10', '12', '70', '80',
                                    '--out', out], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert cv2.imread(out) is not None and cv2.imread(out).shape[1] > 400

    for extra, message in ((['--roi', '10', '12', '5', '80'], '--roi must satisfy x2 > x1'),
                           (['--class-index', '5', '--roi', '10', '12', '70', '80'],
                            r'--class-index must be in [0, 2)')):
        bad = subprocess.run(base + extra, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert bad.returncode != 0 and message in bad.stderr, bad.stderr[-2000:]
