"""Draw R-FCN's position-sensitive score maps for one class and the pooled bins of one RoI.

As in the paper's figures 3 and 4: the class's k*k maps (of the level the extractor pools the
RoI from), each with the RoI and its bin outlined, then the RoI's k*k pooled bins and their mean."""
import argparse

import numpy as np
import torch

import mmdet_psroi.plugin  # noqa: F401
from mmdet_psroi.models import RFCN
from mmdet_psroi_tools.arguments import existing_file
from mmdet_psroi_tools.outputs import replaced


def preprocess(model, image):
    from mmdet.utils import get_test_pipeline_cfg
    from mmengine.dataset import Compose, pseudo_collate

    pipeline_cfg = get_test_pipeline_cfg(model.cfg.copy())
    pipeline_cfg[0].type = 'mmdet.LoadImageFromNDArray'
    pipeline_cfg = [step for step in pipeline_cfg if step['type'] != 'LoadAnnotations']
    data = Compose(pipeline_cfg)(dict(img=image, img_id=0))
    return model.data_preprocessor(pseudo_collate([data]), False)


def score_maps_and_roi(model, batch, class_index, roi=None):
    """The class's k*k maps ``(k, k, H, W)`` on the level the extractor pools the RoI from,
    the RoI ``(4,)`` in input pixels, its pooled bins ``(k, k)``, its score (None for a given
    --roi) and the stride of that level."""
    head = model.roi_head.bbox_head
    extractor = model.roi_head.bbox_roi_extractor
    if not 0 <= class_index < head.num_classes:
        raise SystemExit(f'--class-index must be in [0, {head.num_classes}), got {class_index}')
    with torch.no_grad():
        _, x_roi = model.route_features(model.extract_feat(batch['inputs']))
        maps = model.roi_head.compute_maps(x_roi)  # per level: class maps, then box maps
        if roi is None:
            pred = model.predict(batch['inputs'], batch['data_samples'], rescale=False)[0]
            pred = pred.pred_instances[pred.pred_instances.labels == class_index]
            if len(pred) == 0:
                raise SystemExit(f'no detection of class {class_index}: pass --roi')
            best = int(pred.scores.argmax())
            roi, score = pred.bboxes[best], float(pred.scores[best])
        else:
            roi, score = torch.tensor(roi, dtype=torch.float32), None
        rois = torch.cat([roi.new_zeros(1), roi])[None]
        level = int(extractor.map_roi_levels(rois, len(maps))[0])
        pooled = head.split_pooled(extractor(maps, rois))[0]
        kh, kw = head.roi_feat_size
        level_maps = maps[level][0, :head.conv_cls.out_channels]
        class_maps = level_maps.reshape(-1, kh, kw, *level_maps.shape[-2:])[class_index]
    return class_maps, roi, pooled[0, class_index], score, extractor.featmap_strides[level]


def draw(image, maps, roi, pooled, stride, class_name, score, out):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    kh, kw = pooled.shape
    fig = plt.figure(figsize=(2 * kw + 4, 2 * kh))
    grid = fig.add_gridspec(kh, kw + 2)
    x1, y1, x2, y2 = (float(v) / stride for v in roi)
    bin_w, bin_h = (x2 - x1) / kw, (y2 - y1) / kh
    shown = dict(cmap='viridis', vmin=float(maps.min()), vmax=float(maps.max()))
    for i, j in np.ndindex(kh, kw):
        ax = fig.add_subplot(grid[i, j], xticks=[], yticks=[])
        ax.imshow(maps[i, j].numpy(), **shown)
        ax.add_patch(Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1, y2 - y1, fill=False,
                               edgecolor='white', linewidth=0.8))
        ax.add_patch(Rectangle((x1 + j * bin_w - 0.5, y1 + i * bin_h - 0.5), bin_w, bin_h,
                               fill=False, edgecolor='red', linewidth=1.2))
        ax.set_title(f'map ({i},{j})', fontsize=7)
    ax = fig.add_subplot(grid[:kh // 2 or 1, kw:], title='input and RoI')
    ax.imshow(image)
    rx1, ry1, rx2, ry2 = (float(v) for v in roi)
    ax.add_patch(Rectangle((rx1, ry1), rx2 - rx1, ry2 - ry1, fill=False, edgecolor='red'))
    ax.axis('off')
    ax = fig.add_subplot(grid[kh // 2:, kw:], xticks=range(kw), yticks=range(kh))
    ax.imshow(pooled.numpy(), **shown)
    scored = '' if score is None else f', score {score:.2f}'
    ax.set_title(f'pooled bins of "{class_name}"\nvote (mean) = {float(pooled.mean()):.2f}'
                 + scored, fontsize=9)
    fig.suptitle(f'R-FCN position-sensitive score maps, class "{class_name}" '
                 f"(the RoI's level, stride {stride})")
    fig.tight_layout()
    with replaced(out) as tmp:
        fig.savefig(tmp, dpi=90)
    plt.close(fig)


def main(argv=None):
    import cv2
    from mmdet.apis import init_detector

    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', type=existing_file)
    parser.add_argument('checkpoint', type=existing_file)
    parser.add_argument('image', type=existing_file)
    parser.add_argument('--class-index', type=int, default=0)
    parser.add_argument('--roi', type=float, nargs=4, metavar=('X1', 'Y1', 'X2', 'Y2'),
                        help="in the network input's pixels (default: the class's best detection)")
    parser.add_argument('--out', default='work_dirs/score_maps.png')
    args = parser.parse_args(argv)
    if args.roi is not None and not (args.roi[2] > args.roi[0] and args.roi[3] > args.roi[1]):
        parser.error(f'--roi must satisfy x2 > x1 and y2 > y1, got {args.roi}')
    image = cv2.imread(args.image)
    if image is None:
        parser.error(f'cannot read image {args.image}')
    model = init_detector(args.config, args.checkpoint, device='cpu')
    if not isinstance(model, RFCN):
        raise SystemExit(f'{args.config} builds a {type(model).__name__}, not an RFCN')
    batch = preprocess(model, image)
    maps, roi, pooled, score, stride = score_maps_and_roi(model, batch, args.class_index,
                                                          args.roi)
    shown = batch['inputs'][0].permute(1, 2, 0).numpy()
    shown = (shown - shown.min()) / max(float(np.ptp(shown)), 1e-6) * 255
    classes = (model.dataset_meta or {}).get('classes')
    name = classes[args.class_index] if classes else str(args.class_index)
    draw(shown.astype(np.uint8), maps, roi, pooled, stride, name, score, args.out)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
