"""Markdown tables, as the tools print and write them."""


def row(cells):
    """One table line; cells formatted by ``str``."""
    return '| ' + ' | '.join(map(str, cells)) + ' |'


def table(columns, rows=()):
    """A table's lines: the header, its rule, one line per row."""
    return [row(columns), '|---' * len(columns) + '|'] + [row(r) for r in rows]
