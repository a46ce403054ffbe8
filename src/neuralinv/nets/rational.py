"""A rational head Y = P(A) / q(A), after Cramer's rule A^-1 = adj(A) / det(A): a model outside the
polynomial-Lipschitz class.

P (n x n) and q (a scalar per matrix) are polynomials in the n^2 entries of z = (A - center) / scale, of degrees
n - 1 and n (the degrees of adj and det), each a learned linear combination of every monomial up to its degree.
RationalHead.cramer(n) sets the coefficients to the exact adjugate and determinant, expanded programmatically from
the Leibniz formula in the variables z (so the centring and scaling are undone exactly in the coefficients), and
then the head equals A^-1 wherever det A != 0, with no bounded-degree polynomial's 1 / sigma_min blow-up.

The division is guarded only where q is exactly 0: there the output is inf or nan (nan where P is also 0), no
exception is raised, and no epsilon is added anywhere else, so the head keeps its poles.

Costs: a degree-d part has C(d + n^2, d) monomials (all degrees <= d); for n = 2 the head has 4 * 5 + 15 = 35
coefficients, for n = 3 9 * 55 + 220 = 715. It is meant for small n.
"""

from __future__ import annotations

import itertools
import math

import torch

from neuralinv.common.errors import InputError

__all__ = ["RationalHead", "adjugate_polynomials", "determinant_polynomial", "monomials", "monomial_count"]

Monomial = tuple[int, ...]  # sorted variable indices with repetition: (0, 0, 3) is z0^2 z3
Polynomial = dict[Monomial, float]


def monomials(variables: int, degree: int) -> list[Monomial]:
    """Every monomial in `variables` variables of total degree 0..degree, by degree then lexicographically."""
    out: list[Monomial] = []
    for d in range(degree + 1):
        out.extend(itertools.combinations_with_replacement(range(variables), d))
    return out


def monomial_count(variables: int, degree: int) -> int:
    """len(monomials(variables, degree)): sum over d <= degree of C(d + variables - 1, d) = C(degree + variables,
    degree)."""
    return math.comb(degree + variables, degree)


def _times(p: Polynomial, r: Polynomial) -> Polynomial:
    out: Polynomial = {}
    for mp, cp in p.items():
        for mr, cr in r.items():
            m = tuple(sorted(mp + mr))
            out[m] = out.get(m, 0.0) + cp * cr
    return out


def _entries(center: torch.Tensor, scale: float) -> list[list[Polynomial]]:
    # Entry (i, j) of A = center + scale * z, as a polynomial in z (variable index i * n + j).
    n = center.shape[0]
    out = []
    for i in range(n):
        row = []
        for j in range(n):
            entry: Polynomial = {(i * n + j,): float(scale)}
            if center[i, j] != 0:
                entry[()] = float(center[i, j])
            row.append(entry)
        out.append(row)
    return out


def _sign(permutation: tuple[int, ...]) -> int:
    pairs = itertools.combinations(permutation, 2)
    inversions = sum(1 for first, second in pairs if first > second)
    return -1 if inversions % 2 else 1


def _leibniz(entries: list[list[Polynomial]]) -> Polynomial:
    # det = sum over permutations s of sign(s) prod_i entries[i][s(i)]; the empty matrix's determinant is 1.
    total: Polynomial = {}
    for s in itertools.permutations(range(len(entries))):
        term: Polynomial = {(): float(_sign(s))}
        for i, j in enumerate(s):
            term = _times(term, entries[i][j])
        for m, c in term.items():
            total[m] = total.get(m, 0.0) + c
    return {m: c for m, c in total.items() if c != 0}


def determinant_polynomial(center: torch.Tensor, scale: float = 1.0) -> Polynomial:
    """det(center + scale * z) as {monomial in z: coefficient}, by the Leibniz formula (center is n x n)."""
    return _leibniz(_entries(center, scale))


def adjugate_polynomials(center: torch.Tensor, scale: float = 1.0) -> list[list[Polynomial]]:
    """adj(center + scale * z) entry by entry: adj[i][j] = (-1)^(i+j) times the minor of A without row j and
    column i, each minor expanded by the Leibniz formula."""
    entries = _entries(center, scale)
    n = len(entries)
    out = []
    for i in range(n):
        row = []
        for j in range(n):
            minor = [[entries[r][c] for c in range(n) if c != i] for r in range(n) if r != j]
            row.append({m: (-1) ** (i + j) * c for m, c in _leibniz(minor).items()})
        out.append(row)
    return out


def _coefficients(polynomial: Polynomial, basis: list[Monomial]) -> torch.Tensor:
    index = {m: k for k, m in enumerate(basis)}
    out = torch.zeros(len(basis), dtype=torch.float64)
    for m, c in polynomial.items():
        out[index[m]] = c
    return out


class RationalHead(torch.nn.Module):
    """Matrices a (..., n, n) -> P(z) / q(z) (..., n, n) in float64, z = (a - center) / scale.

    numerator (n^2, M_P) and denominator (M_q) are the coefficients over the monomials of degree <= n - 1 and <= n
    in z's n^2 entries (row-major). Learned mode draws them from N(0, init_scale^2), seeded, except q's constant
    term, which starts at 1: q starts near 1, far from 0, so the head starts as a small polynomial and training
    has to move q's zero set onto the singular set. exact=True (or RationalHead.cramer) sets P = adj(A) and
    q = det(A) exactly. Where q is exactly 0 the output is inf or nan, and nothing raises.
    """

    def __init__(
        self,
        n: int,
        *,
        center: torch.Tensor | None = None,
        scale: float = 1.0,
        exact: bool = False,
        seed: int = 0,
        init_scale: float = 1e-2,
    ):
        super().__init__()
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise InputError(f"rational head: n must be a positive integer, got {n!r}")
        if not scale > 0 or not math.isfinite(scale):
            raise InputError(f"rational head: scale must be a positive finite number, got {scale!r}")
        center = torch.zeros(n, n, dtype=torch.float64) if center is None else torch.as_tensor(center).double()
        if center.shape != (n, n):
            raise InputError(f"rational head: center must be {n} x {n}, got shape {tuple(center.shape)}")
        self.n, self.scale = n, float(scale)
        self.register_buffer("center", center.clone())
        self.numerator_basis = monomials(n * n, n - 1)
        self.denominator_basis = monomials(n * n, n)
        # One gather index per degree, so a forward builds every monomial of that degree at once.
        for name, basis in (("numerator", self.numerator_basis), ("denominator", self.denominator_basis)):
            for d in range(1, max(map(len, basis)) + 1):
                index = torch.tensor([m for m in basis if len(m) == d], dtype=torch.long)
                self.register_buffer(f"_{name}_index_{d}", index, persistent=False)
        g = torch.Generator().manual_seed(seed)
        numerator = torch.randn(n * n, len(self.numerator_basis), generator=g, dtype=torch.float64) * init_scale
        denominator = torch.randn(len(self.denominator_basis), generator=g, dtype=torch.float64) * init_scale
        denominator[0] += 1.0  # the constant monomial () comes first
        self.numerator = torch.nn.Parameter(numerator)
        self.denominator = torch.nn.Parameter(denominator)
        if exact:
            self.set_cramer()

    @classmethod
    def cramer(cls, n: int, *, center: torch.Tensor | None = None, scale: float = 1.0) -> RationalHead:
        """The head with the exact adjugate and determinant coefficients: it computes adj(A) / det(A) = A^-1."""
        return cls(n, center=center, scale=scale, exact=True)

    @torch.no_grad()
    def set_cramer(self) -> None:
        """Overwrite the coefficients with those of adj(A) and det(A) in z = (A - center) / scale."""
        adj = adjugate_polynomials(self.center, self.scale)
        rows = [_coefficients(adj[i][j], self.numerator_basis) for i in range(self.n) for j in range(self.n)]
        self.numerator.copy_(torch.stack(rows))
        self.denominator.copy_(_coefficients(determinant_polynomial(self.center, self.scale), self.denominator_basis))

    def extra_repr(self) -> str:
        return f"n={self.n}, {self.numerator.numel() + self.denominator.numel()} coefficients, scale={self.scale}"

    def _features(self, z: torch.Tensor, name: str, degree: int) -> torch.Tensor:
        # z (..., n^2) -> (..., M): 1, then every monomial of degree 1, 2, ..., degree, in the basis order.
        parts = [torch.ones(*z.shape[:-1], 1, dtype=z.dtype, device=z.device)]
        for d in range(1, degree + 1):
            parts.append(z[..., getattr(self, f"_{name}_index_{d}")].prod(-1))
        return torch.cat(parts, dim=-1)

    def parts(self, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(P (..., n, n), q (...)) for a (..., n, n), in float64 on the coefficients' device."""
        n = self.n
        a = a.to(device=self.numerator.device, dtype=torch.float64)
        z = ((a - self.center) / self.scale).reshape(*a.shape[:-2], n * n)
        p = self._features(z, "numerator", n - 1) @ self.numerator.T
        q = self._features(z, "denominator", n) @ self.denominator
        return p.reshape(*a.shape), q

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        """a (..., n, n) -> P / q (..., n, n) float64; inf or nan (no exception) where q is exactly 0."""
        p, q = self.parts(a)
        return p / q[..., None, None]
