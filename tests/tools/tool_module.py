"""Importing a script under tools/ as a module, for the tests of its functions."""
import importlib.util
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load_tool(relative_path, name):
    """The module of ``tools/<relative_path>``, imported under ``name``."""
    spec = importlib.util.spec_from_file_location(
        name, os.path.join(ROOT, 'tools', relative_path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
