"""R-FCN vs Faster R-CNN C4 per image: ``mmdet_psroi_tools/head_benchmark.py``. Examples:

    python tools/benchmark_head.py [--rois 300 1000 2000] [--rounds 3] [--quick]
    python tools/benchmark_head.py --device cuda --rois 300 2000 --amp both   # the GPU check's
"""
from mmdet_psroi_tools.head_benchmark import main

if __name__ == '__main__':
    main()
