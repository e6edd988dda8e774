"""What the repository's scripts (``tools/``, ``projects/*/tools/``) and tests share, outside the
installed package: not part of the wheel; importable from a checkout (an editable install or
``PYTHONPATH=<checkout>`` puts the repository root on ``sys.path``). One module per concern."""
