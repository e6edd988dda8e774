"""The benchmarks' ``--device`` argument."""
import torch


def parse_device(parser, value):
    """``--device`` as a torch.device (cpu or an available cuda), else the parser's error."""
    try:
        device = torch.device(value)
    except RuntimeError as error:
        parser.error(f'--device: {error}')
    if device.type not in ('cpu', 'cuda'):
        parser.error(f'--device takes cpu or cuda[:index], got {device}')
    if device.type == 'cuda' and not torch.cuda.is_available():
        parser.error(f'--device {device}: torch {torch.__version__} sees no CUDA device')
    return device
