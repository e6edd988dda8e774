"""Files that ship inside packages on the package registry (the demo's data and weights)."""
import contextlib
import glob
import os
import subprocess
import sys
import tempfile
import zipfile


@contextlib.contextmanager
def downloaded_wheel(package):
    """Yields the wheel of ``package`` (e.g. ``'deepforest==2.1.0'``) as an open ``ZipFile``,
    fetched with ``pip download --no-deps`` into a temporary directory removed afterwards.

    Raises RuntimeError naming the package, the command and pip's message when it fails.
    """
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, '-m', 'pip', 'download', '--no-deps', '--quiet', package,
                   '-d', tmp]
        result = subprocess.run(command, capture_output=True, text=True)
        wheels = glob.glob(os.path.join(tmp, '*.whl'))
        if result.returncode != 0 or not wheels:
            raise RuntimeError(f'could not download {package} with "{" ".join(command)}": '
                               f'{(result.stderr or "").strip() or "no wheel found"}')
        with zipfile.ZipFile(wheels[0]) as wheel:
            yield wheel
