"""Tiling and COCO conversion of Pascal VOC scenes, on a tiny synthetic set written here."""
import json
import os

import cv2
import numpy as np
import pytest

from mmdet_psroi_tools import wheels
from tests.tools.tool_module import load_tool

prep = load_tool('data/prepare_neon_trees.py', 'prepare_neon_trees')

VOC = """<annotation><size><width>{w}</width><height>{h}</height><depth>3</depth></size>
{objects}</annotation>"""
OBJECT = ('<object><name>Tree</name><bndbox><xmin>{}</xmin><ymin>{}</ymin><xmax>{}</xmax>'
          '<ymax>{}</ymax></bndbox></object>')


def write_scene(raw, name, size, boxes):
    os.makedirs(raw, exist_ok=True)
    cv2.imwrite(os.path.join(raw, f'{name}.png'), np.zeros((size[1], size[0], 3), np.uint8))
    with open(os.path.join(raw, f'{name}.xml'), 'w') as f:
        f.write(VOC.format(w=size[0], h=size[1],
                           objects='\n'.join(OBJECT.format(*b) for b in boxes)))


def test_tiles_clip_and_drop_boxes(tmp_path):
    raw, out = str(tmp_path / 'raw'), str(tmp_path / 'out')
    # 25x15 scene, 10 px tiles: x origins 0, 10, 15 (last flush), y origins 0, 5.
    boxes = [(1, 1, 4, 4),      # inside tile (0, 0)
             (8, 2, 12, 4),     # across x=10: half in (0, 0), half in (10, 0)
             (9, 2, 14, 4),     # 1/5 in (0, 0): dropped there, 4/5 in (10, 0)
             (20, 11, 24, 14)]  # bottom right only
    write_scene(raw, 'scene_a', (25, 15), boxes)
    write_scene(raw, 'scene_b', (8, 8), [(2, 2, 6, 6)])
    files = prep.prepare(raw, out, tile=10, min_visible=0.5,
                         scenes={'train': 'scene_a', 'val': 'scene_b'})
    with open(files['train']) as f:
        coco = json.load(f)
    names = [image['file_name'] for image in coco['images']]
    assert names == [f'train/scene_a_{x}_{y}.png' for y in (0, 5) for x in (0, 10, 15)]
    assert all(os.path.isfile(os.path.join(out, n)) for n in names)
    assert all((img['width'], img['height']) == (10, 10) for img in coco['images'])
    by_image = {}
    for ann in coco['annotations']:
        by_image.setdefault(ann['image_id'], []).append(ann['bbox'])
    assert sorted(by_image[1]) == [[1, 1, 3, 3], [8, 2, 2, 2]]  # tile (0, 0)
    assert sorted(by_image[2]) == [[0, 2, 2, 2], [0, 2, 4, 2]]  # tile (10, 0)
    assert [c['name'] for c in coco['categories']] == ['tree']
    with open(files['val']) as f:
        val = json.load(f)
    assert len(val['images']) == 1 and val['annotations'][0]['bbox'] == [2, 2, 4, 4]


def test_second_run_is_cached(tmp_path):
    raw, out = str(tmp_path / 'raw'), str(tmp_path / 'out')
    write_scene(raw, 's', (12, 12), [(1, 1, 5, 5)])
    files = prep.prepare(raw, out, tile=6, scenes={'train': 's'})
    stamp = os.path.getmtime(files['train'])
    assert prep.prepare(raw, out, tile=6, scenes={'train': 's'}) == files
    assert os.path.getmtime(files['train']) == stamp
    prep.prepare(raw, out, tile=4, scenes={'train': 's'})  # other settings: redone
    with open(files['train']) as f:
        assert len(json.load(f)['images']) == 9


def test_bad_arguments_and_missing_scene(tmp_path):
    with pytest.raises(ValueError, match='tile must be a positive'):
        prep.prepare(str(tmp_path), str(tmp_path / 'o'), tile=0, scenes={'train': 'x'})
    with pytest.raises(ValueError, match=r'min_visible must be in \(0, 1\]'):
        prep.prepare(str(tmp_path), str(tmp_path / 'o'), min_visible=0, scenes={'train': 'x'})
    with pytest.raises(FileNotFoundError, match='scene file missing'):
        prep.prepare(str(tmp_path), str(tmp_path / 'o'), scenes={'train': 'x'})


def test_failed_download_says_so(tmp_path, monkeypatch):
    class Failed:
        returncode = 1
        stderr = 'ERROR: No matching distribution found'

    monkeypatch.setattr(wheels.subprocess, 'run', lambda *a, **k: Failed())
    with pytest.raises(RuntimeError, match='could not download deepforest==2.1.0.*No matching'):
        prep.fetch_scenes(str(tmp_path / 'raw'))
