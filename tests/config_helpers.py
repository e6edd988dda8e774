"""Finding and loading config files the way the config tests do."""
import glob
import os

from mmdet.registry import MODELS
from mmengine.config import Config

from mmdet_psroi_tools.config_checks import check_config, without_pretrained

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def project_configs(project):
    """The config files directly in ``projects/<project>/configs``, sorted."""
    return sorted(glob.glob(os.path.join(ROOT, 'projects', project, 'configs', '*.py')))


def load_and_build(path):
    """Loads the config at ``path``, checks that it starts with a header comment and passes
    ``check_config``, and builds its model with pretrained initialisation switched off.

    Returns ``(cfg, model)``; mmdet's modules must be registered first."""
    cfg = Config.fromfile(path)
    with open(path) as f:
        assert f.readline().startswith('#'), 'every config starts with a header comment'
    check_config(cfg)
    model = MODELS.build(without_pretrained(cfg.model))
    return cfg, model
