"""alphareq: label-free representation quality from the eigenspectrum of activations.

α is the decay coefficient of the eigenvalues λ_i ∝ i^(−α) of a layer's feature
covariance (α-ReQ, Agrawal et al., NeurIPS 2022); α near 1 generalises best.

    >>> import numpy as np, alphareq
    >>> r = alphareq.alpha(np.random.default_rng(0).standard_normal((5000, 256)))
    >>> round(r.alpha, 2), r.eigenvalues.shape  # white noise: a nearly flat spectrum
    (0.12, (256,))

``alphareq.Accumulator`` streams batches (data-parallel workers merge theirs);
``alphareq.torch.LayerMonitor`` gives α per layer of a PyTorch model during its forward
passes. Arrays are read in place through DLPack or the array interfaces.
"""

# Imported under private names: the package's namespace is the API (help(alphareq), dir()).
import importlib as _importlib
from typing import Any as _Any

from . import _alphareq
from ._accumulator import Accumulator, alpha, alpha_npy
from ._alphareq import BackendUnavailableError, FileError
from ._report import Report

__version__: str = _alphareq.version()
__all__ = [
    "Accumulator",
    "BackendUnavailableError",
    "FileError",
    "Report",
    "alpha",
    "alpha_npy",
    "cuda_available",
    "cuda_unavailable_reason",
]


def cuda_available() -> bool:
    """True when this build has the CUDA backend and a CUDA device can be used."""
    return bool(_alphareq.cuda_available()[0])


def cuda_unavailable_reason() -> str:
    """Why the CUDA backend cannot be used here ("" when it can)."""
    available, reason = _alphareq.cuda_available()
    return "" if available else reason


def __getattr__(name: str) -> _Any:
    # alphareq.torch imports PyTorch: load it on first use only.
    if name == "torch":
        return _importlib.import_module(".torch", __name__)
    raise AttributeError(f"module 'alphareq' has no attribute {name!r}")
