"""Exact kernels: the ground truth every approximation is tested against."""

from ._cntk_kernel import cntk_kernel
from ._ntk_kernel import ntk_kernel

__all__ = ["cntk_kernel", "ntk_kernel"]
