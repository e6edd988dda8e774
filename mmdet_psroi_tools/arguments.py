"""Argument types of the tools' command lines (``argparse`` ``type=``): a bad value stops the
tool with argparse's usage line and ``argument --NAME: <why>``."""
import argparse
import os.path as osp


def at_least(minimum, kind=int):
    """A number of ``kind`` that is at least ``minimum``."""
    def parse(text):
        value = kind(text)  # ValueError: argparse's "invalid int value"
        if not value >= minimum:
            raise argparse.ArgumentTypeError(f'must be >= {minimum}, got {text}')
        return value

    parse.__name__ = kind.__name__
    return parse


def existing_file(text):
    if not osp.isfile(text):
        raise argparse.ArgumentTypeError(f'no such file: {text}')
    return text


def device(text):
    """A torch.device: cpu or an available cuda[:index]."""
    import torch

    try:
        value = torch.device(text)
    except RuntimeError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if value.type not in ('cpu', 'cuda'):
        raise argparse.ArgumentTypeError(f'takes cpu or cuda[:index], got {text}')
    if value.type == 'cuda' and not torch.cuda.is_available():
        raise argparse.ArgumentTypeError(f'{text}: torch {torch.__version__} sees no CUDA device')
    return value
