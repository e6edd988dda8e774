"""The README stays a newcomer's page, and the links of the documentation resolve: every
relative link of README.md, docs/*.md and the configs' and projects' READMEs names an existing
file and, where it has one, an existing heading of that file."""
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
