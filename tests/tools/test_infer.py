"""tools/infer.py: mmdet's DetInferencer with the NEON demo's R-FCN config and a checkpoint,
on a 400 px tile (the demo's tile size; synthetic, since the demo's data is fetched by
`make demo`) and on a folder of tiles, writing the drawn detections and the predictions."""
import json
import os

import cv2
import numpy as np
import pytest
import torch
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
from mmengine.config import Config

from tests.tools.tool_module import ROOT, load_tool

CONFIG = os.path.join(ROOT, 'configs', 'neon_trees', 'rfcn_psroialign_mobilenetv2_neon-trees.py')

infer = load_tool('infer.py', 'infer_tool')


def write_tile(path, seed):
    """A 400x400 aerial-looking tile: green-brown noise with a few dark round crowns."""
    rng = np.random.default_rng(seed)
    tile = rng.integers(60, 140, (400, 400, 3), dtype=np.uint8)
    for x, y, r in rng.integers((40, 40, 10), (360, 360, 35), (6, 3)):
        cv2.circle(tile, (int(x), int(y)), int(r), (30, 90, 40), -1)
    cv2.imwrite(path, tile)
    return path


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """The config's model with torch's default initialisation (init_weights would load the
    ImageNet backbone `make demo` fetches), saved as mmengine saves a trained one, with the
    dataset's classes in its meta."""
    register_all_modules()
    cfg = Config.fromfile(CONFIG)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    path = str(tmp_path_factory.mktemp('ckpt') / 'rfcn_neon.pth')
    torch.save({'state_dict': model.state_dict(),
                'meta': {'dataset_meta': {'classes': ('tree', ), 'palette': [(0, 255, 0)]}}},
               path)
    return path


def test_infers_an_image_and_writes_vis_and_predictions(tmp_path, checkpoint):
    image = write_tile(str(tmp_path / 'tile.png'), seed=0)
    out_dir = str(tmp_path / 'out')
    results = infer.main([image, CONFIG, '--weights', checkpoint, '--out-dir', out_dir,
                          '--device', 'cpu', '--pred-score-thr', '0'])
    prediction = results['predictions'][0]
    assert len(prediction['bboxes']) == len(prediction['scores']) == len(prediction['labels'])
    assert len(prediction['bboxes']) > 0
    assert set(prediction['labels']) == {0}  # one class: tree
    boxes = np.array(prediction['bboxes'])
    assert (boxes[:, 2:] >= boxes[:, :2]).all() and boxes.min() >= 0 and boxes.max() <= 400
    vis = cv2.imread(os.path.join(out_dir, 'vis', 'tile.png'))
    assert vis is not None and vis.shape == (400, 400, 3)
    with open(os.path.join(out_dir, 'preds', 'tile.json')) as f:
        saved = json.load(f)
    assert len(saved['bboxes']) == len(prediction['bboxes'])


@pytest.mark.slow
def test_infers_a_folder(tmp_path, checkpoint):
    folder = tmp_path / 'tiles'
    folder.mkdir()
    for seed in range(2):
        write_tile(str(folder / f'tile_{seed}.png'), seed)
    out_dir = str(tmp_path / 'out')
    infer.main([str(folder), CONFIG, '--weights', checkpoint, '--out-dir', out_dir,
                '--device', 'cpu', '--no-save-pred'])
    assert sorted(os.listdir(os.path.join(out_dir, 'vis'))) == ['tile_0.png', 'tile_1.png']
    assert not os.path.exists(os.path.join(out_dir, 'preds'))


@pytest.mark.parametrize('argv, message', [
    (['missing.png', CONFIG], 'inputs'),
    (['.', 'missing_config.py'], 'model'),
    (['.', CONFIG, '--weights', 'missing.pth'], '--weights'),
    (['.', CONFIG, '--batch-size', '0'], '--batch-size'),
    (['.', CONFIG, '--pred-score-thr', '2'], '--pred-score-thr'),
])
def test_bad_arguments_are_named(argv, message, capsys):
    with pytest.raises(SystemExit) as raised:
        infer.parse_args(argv)
    assert raised.value.code == 2
    assert message in capsys.readouterr().err
