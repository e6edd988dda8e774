"""imported_for: which submodule the import that runs a package's __init__ is for."""
import importlib
import sys

import pytest

INIT = ('from mmdet_psroi.utils.import_target import imported_for\n'
        'FOR = imported_for(__name__)\n')


@pytest.fixture
def toy_package(tmp_path, monkeypatch):
    """A package ``toy_target`` whose __init__ records ``imported_for``, with toy_target.sub.deep;
    removed from sys.modules afterwards."""
    (tmp_path / 'toy_target' / 'sub' / 'deep').mkdir(parents=True)
    (tmp_path / 'toy_target' / '__init__.py').write_text(INIT)
    (tmp_path / 'toy_target' / 'sub' / '__init__.py').write_text('')
    (tmp_path / 'toy_target' / 'sub' / 'deep' / '__init__.py').write_text('x = 1\n')
    (tmp_path / 'toy_target_other.py').write_text('import toy_target\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for name in [n for n in sys.modules if n.startswith('toy_target')]:
        del sys.modules[name]


@pytest.mark.parametrize('statement, expected', [
    ('import toy_target', None),
    ('import toy_target_other', None),  # imported by another module: the package itself
    ('import toy_target.sub', 'sub'),
    ('from toy_target.sub.deep import x', 'sub'),
    ("importlib.import_module('toy_target.sub.deep')", 'sub'),
])
def test_names_the_submodule_being_imported(toy_package, statement, expected):
    exec(statement, {'importlib': importlib})
    assert sys.modules['toy_target'].FOR == expected


def test_outside_an_import_it_says_none():
    from mmdet_psroi.utils.import_target import imported_for

    assert imported_for('mmdet_psroi') is None
