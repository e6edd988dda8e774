"""What the repository's scripts and tests share, outside the installed package.

``mmdet_psroi`` holds what runs inside a user's training or inference process; this package
holds what only the scripts of this repository (``tools/``, ``projects/*/tools/``) and its tests
use. It is not part of the wheel. From a checkout it is importable as the repository root is
on ``sys.path``: an editable install (``pip install --no-build-isolation -e .``) puts it there,
as does ``PYTHONPATH=<checkout>`` (the Makefile sets it).

- ``runner_setup``: tools/train.py's and tools/test.py's common arguments, config, runner
- ``cpu_distributed``: CPU-only distributed runs (gloo) and closing the process group
- ``config_checks``: whole-config checks; switching off pretrained initialisation
- ``timing``: interleaved timing rounds (median and spread, per-round ratios)
- ``head_benchmark``: the detectors the head benchmarks time, at a fixed RoI count
- ``devices``: the benchmarks' ``--device`` argument
- ``gpu_check_report``: the GPU check's JUnit counts, target and gpu_check.md
- ``seed_statistics``: statistics over seeds
- ``ablation``: tools/ablation.py's run cache, training, timing and report
- ``wheels``: files shipped inside packages on the package registry (the demo's data)
"""
