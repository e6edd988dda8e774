from .total_loss_ohem_sampler import TotalLossOHEMSampler

__all__ = ['TotalLossOHEMSampler']
