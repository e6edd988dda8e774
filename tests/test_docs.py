"""The README stays a newcomer's page, and the links of the documentation resolve: every
relative link of README.md, docs/*.md and the configs' and projects' READMEs names an existing
file and, where it has one, an existing heading of that file; and the tables of controlled
baselines name the pairs tests/test_config_pairs.py holds the configs to."""
import glob
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README_MAX_BYTES = 15_000
PAGES = sorted(
    os.path.relpath(p, ROOT) for pattern in ('README.md', 'docs/*.md', 'configs/*/README.md',
                                             'projects/README.md', 'projects/*/README.md')
    for p in glob.glob(os.path.join(ROOT, pattern)))
LINK = re.compile(r'\]\(([^)\s]+)\)')


def slug(heading):
    """GitHub's anchor of a markdown heading."""
    text = heading.strip().lower().replace('`', '')
    return re.sub(r'[^\w\- ]', '', text).replace(' ', '-')


def anchors(path):
    with open(path) as f:
        text = re.sub(r'```.*?```', '', f.read(), flags=re.S)
    return {slug(line.lstrip('#')) for line in text.splitlines() if line.startswith('#')}


def test_readme_is_short():
    assert os.path.getsize(os.path.join(ROOT, 'README.md')) <= README_MAX_BYTES


@pytest.mark.parametrize('page', PAGES)
def test_links_resolve(page):
    with open(os.path.join(ROOT, page)) as f:
        text = re.sub(r'```.*?```', '', f.read(), flags=re.S)
    for target in LINK.findall(text):
        if target.startswith(('http://', 'https://')):
            continue
        path, _, anchor = target.partition('#')
        full = os.path.normpath(os.path.join(ROOT, os.path.dirname(page), path)) if path \
            else os.path.join(ROOT, page)
        assert os.path.exists(full), f'{page}: link {target} names a missing file'
        if anchor:
            assert anchor in anchors(full), f'{page}: link {target} names a missing heading'


PAIR_PAGES = ('README.md', 'configs/rfcn/README.md', 'projects/LightHeadRCNN/README.md',
              'projects/DeformableRFCN/README.md')
CELL_FILE = re.compile(r'\]\(([^)\s]+\.py)\)|`([^`\s]+\.py)`')
FOLDER = re.compile(r'`([^`\s]+/)`')


def pair_table_rows(page):
    """(config, baseline) repository paths of each row of ``page``'s tables whose header names
    a controlled baseline; a cell's file is found under the folder its header column names in
    backticks, else next to the page, else in the page's configs/ folder."""
    with open(os.path.join(ROOT, page)) as f:
        lines = f.readlines()
    rows, columns = [], None
    for line in lines:
        cells = [cell.strip() for cell in line.strip().strip('|').split('|')]
        if not line.startswith('|'):
            columns = None
        elif 'controlled baseline' in cells[1]:
            columns = [FOLDER.search(cell) for cell in cells[:2]]
        elif columns and not set(line) <= set('|-\n '):
            rows.append(tuple(_resolve(page, cell, folder) for cell, folder in
                              zip(cells[:2], columns)))
    return rows


def _resolve(page, cell, folder):
    match = CELL_FILE.search(cell)
    assert match, f'{page}: no config file in the pair-table cell {cell!r}'
    name = match.group(1) or match.group(2)
    page_dir = os.path.dirname(page)
    bases = [folder.group(1)] if folder else [page_dir, os.path.join(page_dir, 'configs')]
    for base in bases:
        path = os.path.normpath(os.path.join(base, name))
        if os.path.isfile(os.path.join(ROOT, path)):
            return path
    raise AssertionError(f'{page}: {name} (pair table) names a missing file')


@pytest.mark.parametrize('page', PAIR_PAGES)
def test_pair_tables_name_the_pairs_the_configs_are_checked_as(page):
    """The documented controlled baselines are those tests/test_config_pairs.py holds the
    configs to, and each page lists all pairs of its configs."""
    from tests.test_config_pairs import PAIRS

    rows = pair_table_rows(page)
    assert rows, f'{page} has no table of controlled baselines'
    assert all(PAIRS.get(config) == baseline for config, baseline in rows), rows
    configs = {config for config, _ in rows}
    folder = os.path.commonpath(sorted(configs))
    assert configs == {config for config in PAIRS if config.startswith(folder + '/')}
