"""What a package's ``__init__`` is running for.

Python runs a package's ``__init__.py`` before any module under it: ``import mmdet_psroi.ops``
runs ``mmdet_psroi/__init__.py`` first, exactly as ``import mmdet_psroi`` does. The import
machinery (``importlib._bootstrap``, CPython's since 3.3) is the only one that knows which
import that is: its ``_find_and_load_unlocked`` frames, one per module being loaded, name the
module each loads. :func:`imported_for` reads them.
"""
import sys

_IMPORT_MACHINERY = ('<frozen importlib._bootstrap>', '_find_and_load_unlocked')


def imported_for(package):
    """Which submodule of ``package`` the import that runs its ``__init__`` is for: ``'ops'``
    for ``import package.ops`` or ``from package.ops.x import y``; ``None`` when the package
    itself is imported, or when the import machinery's frames cannot be read (another Python
    implementation), which callers take for the package itself. Call it from the package's
    ``__init__``."""
    loading_package = False
    frame = sys._getframe(1)
    while frame is not None:
        if (frame.f_code.co_filename, frame.f_code.co_name) == _IMPORT_MACHINERY:
            name = frame.f_locals.get('name')
            if name == package:
                loading_package = True
            elif loading_package:
                if isinstance(name, str) and name.startswith(package + '.'):
                    return name[len(package) + 1:].split('.')[0]
                return None
        frame = frame.f_back
    return None
