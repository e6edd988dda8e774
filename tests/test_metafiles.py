"""model-index.yml and the metafiles it imports, in mmdet's format: every metafile is imported,
every collection names its paper, README and code, every model's config exists, builds through
mmdet's registry and has the schedule its metadata states, every config is documented in the
collection's README, and every result quoted equals the README's."""
import glob
import os

import pytest
import yaml
from mmdet.utils import register_all_modules

from tests.config_helpers import load_and_build

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read_yaml(relative_path):
    with open(os.path.join(ROOT, relative_path)) as f:
        return yaml.safe_load(f)


def metafiles():
    return read_yaml('model-index.yml')['Import']


def collections():
    return {c['Name']: dict(c, metafile=path)
            for path in metafiles() for c in read_yaml(path)['Collections']}


def models():
    return [dict(m, metafile=path) for path in metafiles() for m in read_yaml(path)['Models']]


def readme_rows(readme, config_name):
    """The table rows of ``readme`` that name ``config_name``."""
    with open(os.path.join(ROOT, readme)) as f:
        return [line for line in f if line.startswith('|') and config_name in line]


def test_model_index_imports_every_metafile():
    found = sorted(os.path.relpath(p, ROOT) for p in
                   glob.glob(os.path.join(ROOT, 'configs', '**', 'metafile.yml'), recursive=True)
                   + glob.glob(os.path.join(ROOT, 'projects', '*', 'metafile.yml')))
    assert found, 'no metafile.yml found'
    assert sorted(metafiles()) == found


@pytest.mark.parametrize('name', sorted(collections()))
def test_collection_names_paper_readme_and_code(name):
    collection = collections()[name]
    assert collection['Paper']['URL'].startswith('https://arxiv.org/abs/')
    assert collection['Paper']['Title']
    for key in (collection['README'], collection['Code']['URL']):
        assert os.path.isfile(os.path.join(ROOT, key)), f'{name}: {key} does not exist'


def test_model_names_are_unique_and_name_their_configs():
    names = [m['Name'] for m in models()]
    assert len(names) == len(set(names))
    for model in models():
        assert os.path.basename(model['Config']) == model['Name'] + '.py', model['Name']
        assert model['In Collection'] in collections(), model['Name']
        assert 'Weights' not in model, f"{model['Name']}: no checkpoint has been published"


@pytest.mark.slow  # builds every model again (tests/test_configs.py and tests/projects do too)
@pytest.mark.parametrize('model', models(), ids=lambda m: m['Name'])
def test_config_builds_with_the_schedule_of_its_metadata(model):
    register_all_modules()
    path = os.path.join(ROOT, model['Config'])
    assert os.path.isfile(path), f"{model['Name']}: config {model['Config']} does not exist"
    cfg, _ = load_and_build(path)
    metadata = model.get('Metadata', {})
    if 'Epochs' in metadata:
        assert cfg.train_cfg.max_epochs == metadata['Epochs']
    if 'Iterations' in metadata:
        assert cfg.train_cfg.max_iters == metadata['Iterations']


@pytest.mark.parametrize('model', models(), ids=lambda m: m['Name'])
def test_readme_documents_the_config_and_quotes_the_same_results(model):
    readme = collections()[model['In Collection']]['README']
    config_name = os.path.basename(model['Config'])
    with open(os.path.join(ROOT, readme)) as f:
        assert config_name in f.read(), f'{readme} does not mention {config_name}'
    for result in model.get('Results', []):
        rows = readme_rows(readme, config_name)
        assert rows, f'{readme} has no results row for {config_name}'
        seeds = model['Metadata']['Seeds']
        for metric, value in result['Metrics'].items():
            quoted = f'{value:.3f} ±'
            assert any(quoted in row and f'| {seeds} |' in row for row in rows), (
                f'{readme}: no row for {config_name} with {seeds} seeds quotes '
                f'{metric} {value:.3f}')
