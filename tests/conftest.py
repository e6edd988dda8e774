"""The scripts that tests run in subprocesses (tools/, projects/*/tools/) import this checkout's
packages (mmdet_psroi, mmdet_psroi_tools, the configs' projects.*), as the tests themselves do,
however mmdet-psroi is installed."""
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ['PYTHONPATH'] = os.pathsep.join(filter(None, [ROOT, os.environ.get('PYTHONPATH')]))
