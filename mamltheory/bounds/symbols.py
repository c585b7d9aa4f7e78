"""Sympy symbols for the paper's notation (docs/architecture.md, "Notation: paper ↔ code"); all positive reals."""

from __future__ import annotations

import sympy as sp

# Problem constants, Assumptions 4.3-4.6.
L, rho = sp.symbols("L rho", positive=True)
sigma, sigma_tilde, sigma_H = sp.symbols("sigma sigma_tilde sigma_H", nonnegative=True)
# Step sizes and accuracy: inner step α, target ε, initial gap Δ = F(w_0) − min F, HF-MAML radius δ.
alpha = sp.symbols("alpha", nonnegative=True)  # Lemmas allow α = 0; theorems add α > 0
eps, initial_gap, delta = sp.symbols("epsilon Delta delta", positive=True)
# Batch sizes: tasks B, inner/outer/Hessian samples, step-size batches (Lemma 4.11), test batch (Thm 4.13).
B, D_in, D_o, D_h, B_prime, D_beta, D_test = sp.symbols(
    "B D_in D_o D_h B' D_beta D_test", positive=True, integer=True
)
# Free constant of Lemma 4.12's Young inequality.
phi = sp.symbols("phi", positive=True)
# Point-dependent quantities: ‖w − u‖, E_i‖∇f_i(w)‖, E_i‖∇f_i(u)‖, ‖∇F(w)‖, ‖v‖,
# ‖∇f_i(w − α∇f_i(w))‖ (Lemma 4.12).
dist, grad_w, grad_u, grad_F, v_norm, grad_adapted = sp.symbols(
    "dist g_w g_u grad_F v_norm g_adapted", nonnegative=True
)

# Code name (as in CLI flags, JSON keys and ProblemConstants) -> symbol.
BY_NAME: dict[str, sp.Symbol] = {
    "L": L, "rho": rho, "sigma": sigma, "sigma_tilde": sigma_tilde, "sigma_H": sigma_H,
    "alpha": alpha, "eps": eps, "initial_gap": initial_gap, "delta": delta,
    "B": B, "D_in": D_in, "D_o": D_o, "D_h": D_h, "B_prime": B_prime, "D_beta": D_beta,
    "D_test": D_test, "phi": phi, "dist": dist, "grad_w": grad_w, "grad_u": grad_u,
    "grad_F": grad_F, "v_norm": v_norm, "grad_adapted": grad_adapted,
}
NAME_OF: dict[sp.Symbol, str] = {s: n for n, s in BY_NAME.items()}

LATEX_NAMES: dict[sp.Symbol, str] = {
    sigma_tilde: r"\tilde{\sigma}", sigma_H: r"\sigma_H", initial_gap: r"\Delta", eps: r"\epsilon",
    D_in: r"D_{in}", D_o: r"D_o", D_h: r"D_h", B_prime: r"B'", D_beta: r"D_\beta", D_test: r"D_{test}",
    dist: r"\|w-u\|", grad_w: r"\mathbb{E}_i\|\nabla f_i(w)\|", grad_u: r"\mathbb{E}_i\|\nabla f_i(u)\|",
    grad_F: r"\|\nabla F(w)\|", v_norm: r"\|v\|", grad_adapted: r"\|\nabla f_i(w-\alpha\nabla f_i(w))\|",
}
