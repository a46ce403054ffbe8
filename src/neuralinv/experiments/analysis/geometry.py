"""One network's float64 weights and the change of variables of its LP domain; the affine map of a pattern.

The LP domain is the region's bounding box (the region itself for a box): E = A - A0 = c * u entrywise, with c (n^2,)
its per-entry half-widths and u in [-1, 1]^(n^2).
"""

from __future__ import annotations

import numpy as np
import torch

from neuralinv.nets.construction import linear_matrix
from neuralinv.nets.mlp import Network
from neuralinv.regions.shapes import Box, Region


class Geometry:
    """The float64 weights and the change of variables u -> x = x0 + r * u (u in [-1, 1]^(n^2)) of one network.

    The LP domain is the region's bounding box (the region itself for a box): E = A - A0 = c * u entrywise, with c
    (n^2,) its per-entry half-widths, and r = c / s_in. A0 is the region's centre, where Taylor-1 is taken.
    """

    def __init__(self, net: Network, region: Region | None = None):
        self.torch_layers = [(w.detach().cpu().double(), b.detach().cpu().double()) for w, b in net.layers]
        self.layers = [(w.numpy(), b.numpy()) for w, b in self.torch_layers]
        self.region = net.region if region is None else region
        self.domain: Box = self.region.bounding_box()
        self.n = net.n
        self.c = self.domain.half_widths.ravel()  # (n^2,) per-entry half-widths of the LP domain
        s = net.scaling
        self.x0 = (self.domain.center.ravel() - np.array(s.input_offset)) / s.input_scale
        self.r = self.c / s.input_scale
        self.out_offset, self.out_scale, self.in_scale = np.array(s.target_offset), s.target_scale, s.input_scale
        self.hidden = [w.shape[0] for w, _ in self.layers[:-1]]
        self.k_lin = self.domain.center_inverse.ravel()
        self.j_lin = linear_matrix(self.domain)

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Hidden pre-activations [(N, h_l)] and output y (N, n^2) for float64 inputs x (N, n^2).

        torch rather than numpy: its matmul stays on BLAS for the thin (N, n^2) x (n^2, h) products here.
        """
        pre = []
        for w, b in self.torch_layers[:-1]:
            z = torch.nn.functional.linear(x, w, b)
            pre.append(z)
            x = torch.relu(z)
        w, b = self.torch_layers[-1]
        return pre, torch.nn.functional.linear(x, w, b)

    def affine(self, on: list[np.ndarray]) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray, np.ndarray]:
        """For the pattern on (bool masks per hidden layer): pre-activations z_l = P_l x + p_l, and y = G x + g."""
        d = self.n**2
        p_mat, p_vec = np.eye(d), np.zeros(d)
        pieces = []
        for (w, b), mask in zip(self.layers[:-1], on):
            p_mat, p_vec = w @ p_mat, w @ p_vec + b
            pieces.append((p_mat, p_vec))
            p_mat, p_vec = p_mat * mask[:, None], p_vec * mask
        w, b = self.layers[-1]
        return pieces, w @ p_mat, w @ p_vec + b

    def user_map(self, g_mat: np.ndarray, g_vec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """K (n^2,) and J (n^2, n^2) of vec(A^-1) = K + J vec(A - A0), from the scaled map y = G x + g."""
        k = self.out_offset + self.out_scale * (g_mat @ self.x0 + g_vec)
        return k, self.out_scale / self.in_scale * g_mat

    def constraints(self, pieces, on) -> tuple[np.ndarray, np.ndarray, bool]:
        """A_ub u <= b_ub for the pattern's half-spaces (rows normalised), and False if a constant row is violated."""
        rows, rhs = [], []
        for (p_mat, p_vec), mask in zip(pieces, on):
            a = p_mat * self.r  # z = a u + q (x_i = x0_i + r_i u_i scales column i)
            q = p_mat @ self.x0 + p_vec
            sign = np.where(mask, -1.0, 1.0)  # on: -z <= 0; off: z <= 0
            rows.append(sign[:, None] * a)
            rhs.append(-sign * q)
        if not rows:
            return np.zeros((0, self.n**2)), np.zeros(0), True
        a_ub, b_ub = np.concatenate(rows), np.concatenate(rhs)
        norms = np.linalg.norm(a_ub, axis=1)
        # A unit that does not depend on u is a constant: its half-space is all or nothing.
        constant = norms <= 1e-14 * max(1.0, norms.max(initial=0.0))
        feasible = bool(np.all(b_ub[constant] >= -1e-12))
        keep = ~constant
        return a_ub[keep] / norms[keep, None], b_ub[keep] / norms[keep], feasible
