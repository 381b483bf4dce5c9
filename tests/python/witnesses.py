"""Witnesses that an option reached the extension: a spectrum that float32 products must
refuse (precision), and a spy on the extension's entry points (for what the CPU backend does
not act on: solver, deterministic). From a mutation audit: forwarding a valid option was
never checked, only refusing an invalid one."""

from __future__ import annotations

import numpy as np


def steep_spectrum(seed: int = 9, d: int = 256, n: int = 5000) -> np.ndarray:
    """lambda_i ~ i^-5 in a random basis: float64 products fit alpha ~ 5.0 over 11..100;
    float32 products leave only ~7 eigenvalues above float32's noise threshold, so the
    default window is refused. A cheap, certain witness that precision="float32" arrived."""
    rng = np.random.default_rng(seed)
    rotation, _ = np.linalg.qr(rng.standard_normal((d, d)))
    return (rng.standard_normal((n, d)) * np.arange(1, d + 1) ** -2.5) @ rotation.T


class ExtensionSpy:
    """Wraps one function/class of the extension: records the positional arguments, then
    calls the real one (CPU results are unchanged). For options the CPU backend ignores
    (solver, deterministic): without a GPU, what reaches the extension is all there is."""

    def __init__(self, real):
        self.real, self.calls = real, []

    def __call__(self, *arguments):
        self.calls.append(arguments)
        return self.real(*arguments)
