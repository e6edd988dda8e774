"""What the tools write: markdown tables, and files that are never left half-written."""
import contextlib
import json
import os


def row(cells):
    """One table line; cells formatted by ``str``."""
    return '| ' + ' | '.join(map(str, cells)) + ' |'


def table(columns, rows=()):
    """A table's lines: the header, its rule, one line per row."""
    return [row(columns), '|---' * len(columns) + '|'] + [row(r) for r in rows]


@contextlib.contextmanager
def replaced(path):
    """Yields a temporary path beside ``path`` (same extension), renamed to ``path`` when the
    block succeeds and removed when it fails; creates the folder."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    root, extension = os.path.splitext(path)
    tmp = f'{root}.{os.getpid()}.partial{extension}'
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_json(path, data, indent=2):
    with replaced(path) as tmp, open(tmp, 'w') as f:
        json.dump(data, f, indent=indent)
