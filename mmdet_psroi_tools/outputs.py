"""What the tools write: markdown tables, and files that are never left half-written."""
import contextlib
import json
import os


def row(cells):
    return '| ' + ' | '.join(map(str, cells)) + ' |'


def table(columns, rows=()):
    """A table's lines: the header, its rule, one line per row (cells formatted by ``str``)."""
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


@contextlib.contextmanager
def figure(path, title, ylabel, xticks=None, size=(8, 4.5), fontsize=None):
    """Yields the axes of a new matplotlib figure and the colour cycle; then sets the title,
    the y label and the x tick labels (one per integer x) and writes the figure to ``path``."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=size)
    try:
        yield ax, plt.rcParams['axes.prop_cycle'].by_key()['color']
        if xticks is not None:
            ax.set_xticks(range(len(xticks)), xticks, fontsize=fontsize)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        fig.tight_layout()
        with replaced(path) as tmp:
            fig.savefig(tmp, dpi=100)
    finally:
        plt.close(fig)


def means_over_seeds(path, title, ylabel, names, series, size=(8, 4.5), fontsize=None):
    """A figure with, per model (``names``) and series (``(label, per model its seeds'
    values)``, side by side), the mean ± std and one point per seed."""
    from .seed_statistics import mean_std

    width = 0.8 / len(series)
    with figure(path, title, ylabel, names, size, fontsize) as (ax, _):
        for number, (label, per_model) in enumerate(series):
            positions = [i + (number - (len(series) - 1) / 2) * width for i in range(len(names))]
            stats = [mean_std(values) for values in per_model]
            ax.errorbar(positions, [s['mean'] for s in stats], fmt='_', capsize=5,
                        yerr=[s['std'] or 0.0 for s in stats], markersize=36 * width,
                        label=f'{label}: mean ± std')
            for x, values in zip(positions, per_model):
                ax.scatter([x + width / 6] * len(values), values, s=12, color='black', zorder=3)
        ax.set_xlim(-0.5, len(names) - 0.5)
        ax.legend(fontsize=fontsize)
