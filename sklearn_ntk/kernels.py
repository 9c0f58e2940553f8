"""Exact kernels: the ground truth every approximation is tested against."""

from ._ntk_kernel import ntk_kernel

__all__ = ["ntk_kernel"]
