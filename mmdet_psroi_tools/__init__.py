"""What the repository's tools and tests share, outside the installed package.

``mmdet_psroi`` holds what runs inside a user's training or inference process; this package
holds what only the scripts of this repository use (``tools/``, ``projects/*/tools/``, the
tests): the train/test command lines, config checks, seed statistics and reports, timing
rounds, downloads. It is not part of the wheel. From a checkout it is importable as the
repository root is on ``sys.path``: an editable install (``pip install -e .``) puts it there,
as does ``PYTHONPATH=<checkout>``.
"""
