"""What the certified inverse returns: the answers, their bounds and why each took the path it took."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

FLAGS = ("fallback", "singular", "nonfinite", "outside")


@dataclass(frozen=True)
class CertifiedInverse:
    """Result of certified_inverse for a batch of shape (...): arrays of the input's kind (NumPy or torch).

    inverse (..., n, n): the approximate inverses, in the input's float dtype; NaN where not inverted.
    bound (...): float64, rigorous bound on ||X - A^-1||_F / ||A^-1||_F (rounding included); inf where not inverted.
    steps (...): Newton-Schulz steps after the initial guess (0 on the exact path).
    fallback (...): took the exact path (outside the region, NaN/Inf, not certified within tol, or singular).
    singular, nonfinite, outside (...): why; singular and nonfinite matrices are not inverted (inverse NaN).
    """

    inverse: object
    bound: object
    steps: object
    fallback: object
    singular: object
    nonfinite: object
    outside: object
    tol: float
    message: str
    route: dict = field(default_factory=dict)  # what was chosen and why (method, probe, exact path, estimates)

    @property
    def certified(self):
        """Mask (...) of the answers whose bound is within tol."""
        return self.bound <= self.tol


def summary(count, tol, fallback, singular, nonfinite, outside, bound) -> str:
    """One line: how many were certified on the fast path, why the others took the exact path, what is uncertified."""
    nf, ns, nn, no = (int(m.sum()) for m in (fallback, singular, nonfinite, outside))
    unc = int((fallback & ~nonfinite & ~outside).sum())
    over = int((torch.isfinite(bound) & ~(bound <= tol)).sum())
    text = f"{count - nf} of {count} matrices certified by Newton-Schulz (bound <= {tol:g})"
    if nf:
        why = [
            f"{k} {w}"
            for k, w in [(no, "outside the region"), (unc, "not certified by Newton-Schulz"), (nn, "with NaN/Inf")]
            if k
        ]
        text += f"; {nf} on the exact path ({', '.join(why)})"
    if ns + nn:
        text += f"; {ns + nn} not inverted (NaN: {ns} singular, {nn} with NaN/Inf)"
    if over:
        text += f"; {over} inverted with bound > tol"
    return text


def package(x, bound, steps, flags: dict, *, shape: tuple, n: int, was_numpy: bool, tol: float, route: dict):
    """The CertifiedInverse of a batch of batch shape `shape`, from the flat (B, ...) tensors, in the input's kind."""

    def back(v, to):
        """v reshaped to `to`, as NumPy when the input was."""
        v = v.reshape(to)
        return v.cpu().numpy() if was_numpy else v

    fallback, singular, nonfinite, outside = (flags[k] for k in FLAGS)
    return CertifiedInverse(
        inverse=back(x, shape + (n, n)),
        bound=back(bound, shape),
        steps=back(steps, shape),
        fallback=back(fallback, shape),
        singular=back(singular, shape),
        nonfinite=back(nonfinite, shape),
        outside=back(outside, shape),
        tol=float(tol),
        message=summary(int(bound.shape[0]), tol, fallback, singular, nonfinite, outside, bound),
        route=route,
    )
