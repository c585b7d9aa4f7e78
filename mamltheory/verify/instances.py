"""Small exact instances for the falsification search: constants exact by construction, F and ∇F in closed form.

Task i (probability p_i) in dimension d ∈ {1, 2}:

    f_i(w) = g_i(aᵀw) + ½ wᵀQw + b_iᵀw,        ‖a‖ = 1, Q symmetric, shared by the tasks,

where g_i is C² with a piecewise-linear, continuous second derivative h_i = g_i'' (a `Profile`: knots,
values, constant beyond the outer knots). g_i' and g_i are its exact piecewise-quadratic / -cubic
antiderivatives, so ∇f_i(w) = g_i'(aᵀw) a + Qw + b_i and ∇²f_i(w) = h_i(aᵀw) aaᵀ + Q are closed forms.

Exact constants (Assumptions 4.3-4.6), each attained:
* L = max_i max(‖Q + h_min,i aaᵀ‖, ‖Q + h_max,i aaᵀ‖): h ↦ ‖Q + h aaᵀ‖ is convex, so its max over the
  range [h_min, h_max] of h_i is at an end, and both ends are attained (at knots).
* ρ = max_i max |slope of h_i|: ‖∇²f_i(w) − ∇²f_i(u)‖ = |h_i(aᵀw) − h_i(aᵀu)| <= ρ|aᵀ(w − u)|, with
  equality for w − u ∥ a inside the steepest segment.
* σ² = sup_z Σ_i p_i ‖(g_i'(z) − ḡ'(z)) a + b_i − b̄‖² (ḡ' = Σ p_j g_j'): a piecewise quartic in
  z = aᵀw (the task differences do not depend on the part of w orthogonal to a), maximised exactly
  segment by segment; infinite when the tasks' curvatures differ beyond the knots.
* Sampling noise (optional): θ uniform over K samples, ∇f_i(w, θ) = ∇f_i(w) + ξ_θ + η_θ ψ'(aᵀw) a and
  ∇²f_i(w, θ) = ∇²f_i(w) + η_θ ψ''(aᵀw) aaᵀ, with Σ ξ_θ = 0, Σ η_θ = 0 and ψ'' a profile with zero
  ends (so ψ' is bounded): σ̃² = sup_{t ∈ range ψ'} E‖ξ + η t a‖² (a quadratic in t, so at an end of
  the range), σ_H² = E η² · max|ψ''|².
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import numpy as np

from mamltheory.assumptions import ProblemConstants
from mamltheory.simulate import tasks as exact

Array = np.ndarray


@lru_cache(maxsize=1)
def quartic_nodes() -> tuple[Array, Array]:
    """Five points t in [0, 1] and the inverse of their Vandermonde matrix: values there -> quartic coefficients
    (t⁴ first)."""
    t5 = np.linspace(0.0, 1.0, 5)
    return t5, np.linalg.inv(np.vander(t5, 5))


@dataclass(frozen=True)
class Profile:
    """A 1-D C² function g with g(0) = g'(0) = 0 whose g'' is piecewise linear through (knots, values)."""

    knots: tuple[float, ...]
    values: tuple[float, ...]

    def __post_init__(self) -> None:
        t = np.asarray(self.knots, float)
        if len(t) != len(self.values) or len(t) == 0 or np.any(np.diff(t) <= 0):
            raise ValueError("Profile: knots must be strictly increasing, one value per knot")

    # ---- constructors ----
    @classmethod
    def constant(cls, h: float) -> Profile:
        """g'' ≡ h (a quadratic)."""
        return cls((0.0,), (float(h),))

    @classmethod
    def tent(cls, base: float, height: float, center: float, half_width: float) -> Profile:
        """g'' = base + height·max(0, 1 − |z − center|/half_width): a kink of slope ±height/half_width."""
        return cls((center - half_width, center, center + half_width), (base, base + height, base))

    @classmethod
    def vee(cls, rho: float, center: float, cap: float) -> Profile:
        """g'' = min(ρ|z − center|, cap): the HVP-error extremal, a kink of slope ρ at `center`."""
        r = cap / rho
        return cls((center - r, center, center + r), (cap, 0.0, cap))

    # ---- exact evaluation ----
    @cached_property
    def _tables(self) -> tuple[Array, Array, Array, Array, Array]:
        """Per piece (the left tail first, then one per knot): anchor, g'' at it, slope, ∫h and ∫∫h from t_0."""
        t = np.asarray(self.knots, float)
        v = np.asarray(self.values, float)
        s = np.append(np.diff(v) / np.diff(t), 0.0) if len(t) > 1 else np.zeros(1)
        C1 = np.zeros(len(t))  # ∫_{t0}^{t_j} h
        C0 = np.zeros(len(t))  # ∫_{t0}^{t_j} ∫_{t0}^{s} h
        for j in range(1, len(t)):
            dz = t[j] - t[j - 1]
            C1[j] = C1[j - 1] + v[j - 1] * dz + s[j - 1] * dz**2 / 2
            C0[j] = C0[j - 1] + C1[j - 1] * dz + v[j - 1] * dz**2 / 2 + s[j - 1] * dz**3 / 6
        # piece 0 is z < t_0: constant g'' = v_0 anchored at t_0
        return (np.append(t[0], t), np.append(v[0], v), np.append(0.0, s), np.append(0.0, C1), np.append(0.0, C0))

    def _raw(self, z: Array) -> tuple[Array, Array, Array]:
        """(h, G1, G0) with G1 = ∫_{t0}^z h, G0 = ∫_{t0}^z G1, piece by piece."""
        T, v, s, C1, C0 = self._tables
        z = np.asarray(z, float)
        j = np.searchsorted(T[1:], z, side="right")
        dz = z - T[j]
        vj, sj, c1 = v[j], s[j], C1[j]
        return vj + sj * dz, c1 + dz * (vj + sj * dz / 2), C0[j] + dz * (c1 + dz * (vj / 2 + sj * dz / 6))

    @cached_property
    def _at0(self) -> tuple[float, float]:
        _, G1, G0 = self._raw(np.zeros(()))
        return float(G1), float(G0)

    def h(self, z: Array) -> Array:
        """g''(z)."""
        return self._raw(z)[0]

    def d1(self, z: Array) -> Array:
        """g'(z), with g'(0) = 0."""
        return self._raw(z)[1] - self._at0[0]

    def d0(self, z: Array) -> Array:
        """g(z), with g(0) = g'(0) = 0."""
        _, _, G0 = self._raw(z)
        return G0 - self._at0[1] - self._at0[0] * np.asarray(z, float)

    @property
    def rho(self) -> float:
        """Lipschitz constant of g'' (its steepest slope, attained)."""
        return float(np.abs(self._tables[2]).max())

    @property
    def h_range(self) -> tuple[float, float]:
        return float(min(self.values)), float(max(self.values))

    def d1_range(self) -> tuple[float, float]:
        """(min, max) of g' over ℝ, finite only when g'' vanishes beyond the knots."""
        t, v, s = np.asarray(self.knots, float), np.asarray(self.values, float), self._tables[2][1:]
        if v[0] != 0 or v[-1] != 0:
            return -math.inf, math.inf
        cands = list(t)
        for j in range(len(t) - 1):
            if s[j] != 0:
                r = t[j] - v[j] / s[j]  # zero of h inside the segment: a critical point of g'
                if t[j] < r < t[j + 1]:
                    cands.append(r)
        vals = self.d1(np.array(cands))
        return float(vals.min()), float(vals.max())


@dataclass(frozen=True)
class Noise:
    """Sampling noise: K equally likely samples with gradient shifts ξ_θ and Hessian weights η_θ (zero-mean)."""

    xi: tuple[tuple[float, ...], ...]          # (K, d)
    eta: tuple[float, ...] = ()                  # (K,), empty for no Hessian noise
    psi: Profile | None = None                   # ψ'' (zero beyond its knots) when eta is given

    @cached_property
    def xi_arr(self) -> Array:
        return np.asarray(self.xi, float)

    @cached_property
    def eta_arr(self) -> Array:
        return np.asarray(self.eta, float) if self.eta else np.zeros(len(self.xi))

    @property
    def K(self) -> int:
        return len(self.xi)


@dataclass(frozen=True)
class Instance(exact.ExactMeta):
    """An exact instance: f_i(w) = g_i(aᵀw) + ½wᵀQw + b_iᵀw with probabilities p (see module docstring).

    Implements the exact-task protocol (`simulate.tasks.ExactTasks`); `p` is kept as the tuple it
    was built from (the protocol's functions accept any sequence).
    """

    profiles: tuple[Profile, ...]
    b: tuple[tuple[float, ...], ...]
    p: tuple[float, ...]
    a: tuple[float, ...] = (1.0,)
    Q: tuple[tuple[float, ...], ...] = ((0.0,),)
    noise: Noise | None = None
    label: str = ""

    def __post_init__(self) -> None:
        a = np.asarray(self.a, float)
        if abs(np.linalg.norm(a) - 1) > 1e-12:
            raise ValueError("Instance: a must be a unit vector")
        if not (len(self.profiles) == len(self.b) == len(self.p)) or abs(sum(self.p) - 1) > 1e-12:
            raise ValueError("Instance: one profile, b_i and p_i per task, p summing to 1")

    # ---- arrays ----
    @cached_property
    def d(self) -> int:
        return len(self.a)

    @cached_property
    def n(self) -> int:
        return len(self.p)

    @cached_property
    def _a(self) -> Array:
        return np.asarray(self.a, float)

    @cached_property
    def _Q(self) -> Array:
        return np.asarray(self.Q, float).reshape(self.d, self.d)

    @cached_property
    def _b(self) -> Array:
        return np.asarray(self.b, float).reshape(self.n, self.d)

    @cached_property
    def _p(self) -> Array:
        return np.asarray(self.p, float)

    @cached_property
    def _pieces(self) -> tuple[Array, Array, Array, Array, Array, Array, Array]:
        """Every profile's piece tables (`Profile._tables`) padded to one width, for one vectorised lookup:
        (knots (n, m−1) padded with +inf, anchors, values, slopes, ∫h, ∫∫h (each flat, n·m), g'(0), g(0) (n,))."""
        tabs = [pr._tables for pr in self.profiles]
        m = max(len(t[0]) for t in tabs)

        def pad(a: Array, fill: float) -> Array:
            return np.concatenate([a, np.full(m - len(a), fill)])

        knots = np.stack([pad(t[0], math.inf)[1:] for t in tabs])
        T, v, s, C1, C0 = (np.concatenate([pad(t[k], 0.0) for t in tabs]) for k in range(5))
        at0 = np.array([pr._at0 for pr in self.profiles])
        return knots, T, v, s, C1, C0, at0

    def _per(self, fn: str, Z: Array) -> Array:
        """Profile i's `fn` ("h", "d1" or "d0") at Z[..., i], all profiles in one pass.

        The same arithmetic as `Profile._raw` (piece j = number of knots <= z), so the values are identical."""
        knots, T, v, s, C1, C0, at0 = self._pieces
        Z = np.asarray(Z, float)
        m = knots.shape[1] + 1
        j = (Z[..., None] >= knots).sum(-1) + m * np.arange(self.n)
        dz = Z - T[j]
        vj, sj = v[j], s[j]
        if fn == "h":
            return vj + sj * dz
        c1 = C1[j]
        if fn == "d1":
            return c1 + dz * (vj + sj * dz / 2) - at0[:, 0]
        return C0[j] + dz * (c1 + dz * (vj / 2 + sj * dz / 6)) - at0[:, 1] - at0[:, 0] * Z

    # ---- the exact-task protocol (simulate.tasks.ExactTasks): per-task points (..., n|1, d) ----
    def _each(self, Wt: Array) -> Array:
        """Per-task points (..., n|1, d) as (..., n, d) (the protocol lets a shared point broadcast)."""
        Wt = np.asarray(Wt, float)
        return np.broadcast_to(Wt, Wt.shape[:-2] + (self.n, self.d))

    def task_loss(self, Wt: Array) -> Array:
        """f_i at per-task points: (..., n|1, d) -> (..., n)."""
        Wt = self._each(Wt)
        Z = Wt @ self._a
        return self._per("d0", Z) + 0.5 * np.einsum("...d,de,...e->...", Wt, self._Q, Wt) + (Wt * self._b).sum(-1)

    def task_grad(self, Wt: Array) -> Array:
        """∇f_i at per-task points: (..., n|1, d) -> (..., n, d)."""
        Wt = self._each(Wt)
        Z = Wt @ self._a
        return self._per("d1", Z)[..., None] * self._a + Wt @ self._Q + self._b

    def task_hvp(self, Wt: Array, V: Array) -> Array:
        """∇²f_i(w) v at per-task points: (..., n|1, d), (..., n, d) -> (..., n, d); closed form."""
        Z = self._each(Wt) @ self._a
        return self._per("h", Z)[..., None] * (V @ self._a)[..., None] * self._a + V @ self._Q

    # The names the verify code has always used.
    f = task_loss
    grad = task_grad
    hvp = task_hvp

    def hess(self, Wt: Array) -> Array:
        """∇²f_i at per-task points: (..., n|1, d) -> (..., n, d, d)."""
        Z = self._each(Wt) @ self._a
        return self._per("h", Z)[..., None, None] * np.outer(self._a, self._a) + self._Q

    def at(self, W: Array) -> Array:
        """(..., d) -> the same point for every task, (..., n, d)."""
        W = np.asarray(W, float)
        return np.broadcast_to(W[..., None, :], W.shape[:-1] + (self.n, self.d))

    # F and ∇F: the one implementation in simulate.tasks (ExactMeta); short names for the checks
    F = exact.ExactMeta.meta_objective
    grad_F = exact.ExactMeta.meta_gradient

    # ---- sampling noise (per-sample quantities for every θ) ----
    def sample_grad_shift(self, Wt: Array) -> Array:
        """∇f_i(w, θ) − ∇f_i(w) for every θ: (..., n, d) -> (..., n, K, d)."""
        nz = self.noise
        if nz is None:
            return np.zeros(Wt.shape[:-1] + (1, self.d))
        shift = np.broadcast_to(nz.xi_arr, Wt.shape[:-1] + nz.xi_arr.shape)
        if nz.psi is not None:
            t = nz.psi.d1(Wt @ self._a)                                 # (..., n)
            shift = shift + (nz.eta_arr[:, None] * self._a) * t[..., None, None]
        return shift

    def sample_hess_shift_weight(self, Wt: Array) -> Array:
        """η_θ ψ''(aᵀw) for every θ: ∇²f_i(w, θ) = ∇²f_i(w) + (this)·aaᵀ; (..., n) -> (..., n, K)."""
        nz = self.noise
        if nz is None or nz.psi is None:
            K = 1 if nz is None else nz.K
            return np.zeros(Wt.shape[:-1] + (K,))
        return nz.eta_arr * nz.psi.h(Wt @ self._a)[..., None]

    # ---- exact constants ----
    @cached_property
    def L(self) -> float:
        aa = np.outer(self._a, self._a)
        return float(max(np.linalg.norm(self._Q + h * aa, 2) for pr in self.profiles for h in pr.h_range))

    @cached_property
    def rho(self) -> float:
        return float(max(pr.rho for pr in self.profiles))

    @cached_property
    def sigma(self) -> float:
        """sup_w √(E_i‖∇f_i(w) − ∇f(w)‖²), exact (module docstring)."""
        knots = np.unique(np.concatenate([pr.knots for pr in self.profiles]))
        ends = [pr.values for pr in self.profiles]
        left = np.array([e[0] for e in ends])
        right = np.array([e[-1] for e in ends])
        # Beyond the knots g_i' grows like (end value)·z: the spread stays bounded only if all ends agree.
        if np.ptp(left) > 0 or np.ptp(right) > 0:
            return math.inf
        bbar = self._p @ self._b
        beta = (self._b - bbar) @ self._a                               # aᵀ(b_i − b̄)
        bb = ((self._b - bbar) ** 2).sum(-1)

        def s2(z: Array) -> Array:
            g1 = self._per("d1", np.repeat(np.asarray(z, float)[..., None], self.n, axis=-1))   # (..., n)
            dd = g1 - (g1 @ self._p)[..., None]
            return (dd**2 + 2 * dd * beta + bb) @ self._p

        best = float(s2(knots[:1])[0])
        if len(knots) > 1:
            # a quartic in t ∈ [0, 1] on each segment [lo, lo + w]: interpolated exactly through 5 points (all
            # segments at once), then checked at the ends and at the real critical points inside
            lo, w = knots[:-1], np.diff(knots)
            t5, vander_inv = quartic_nodes()
            c = s2(lo[:, None] + w[:, None] * t5) @ vander_inv.T                  # (segments, 5), t⁴ first
            der = c[:, :4] * np.array([4.0, 3.0, 2.0, 1.0])                        # the cubic derivative
            ok = der[:, 0] != 0
            roots = np.full((len(lo), 3), np.nan, complex)
            if ok.any():   # np.roots' companion matrices, all segments in one eigenvalue call
                comp = np.zeros((int(ok.sum()), 3, 3))
                comp[:, 0, :] = -der[ok, 1:] / der[ok, :1]
                comp[:, 1, 0] = comp[:, 2, 1] = 1.0
                roots[ok] = np.linalg.eigvals(comp)
            for i in np.flatnonzero(~ok):
                r = np.roots(der[i])
                roots[i, : len(r)] = r
            real = (np.abs(roots.imag) < 1e-12) & (roots.real > 0) & (roots.real < 1)
            t = np.concatenate([np.zeros((len(lo), 1)), np.ones((len(lo), 1)), np.where(real, roots.real, 0.0)], 1)
            best = max(best, float(s2(lo[:, None] + w[:, None] * t).max()))
        return math.sqrt(max(best, 0.0))

    @cached_property
    def sigma_tilde(self) -> float:
        nz = self.noise
        if nz is None:
            return 0.0
        xi, eta = nz.xi_arr, nz.eta_arr
        ts = [0.0] if nz.psi is None else list(nz.psi.d1_range())
        # E‖ξ + ηta‖² = E‖ξ‖² + 2t E[η ξᵀa] + t² E η²: a convex quadratic in t, maximal at an end of ψ'’s range
        vals = [float(((xi + np.outer(eta * t, self._a)) ** 2).sum(-1).mean()) for t in ts]
        return math.sqrt(max(vals))

    @cached_property
    def sigma_H(self) -> float:
        nz = self.noise
        if nz is None or nz.psi is None:
            return 0.0
        hmin, hmax = nz.psi.h_range
        return math.sqrt(float((nz.eta_arr**2).mean())) * max(abs(hmin), abs(hmax))

    @property
    def constants(self) -> ProblemConstants:
        """The exact constants; ρ = 0 (a quadratic instance) is reported as 1e-300 since ProblemConstants wants ρ > 0."""
        return ProblemConstants(L=self.L, rho=max(self.rho, 1e-300), sigma=self.sigma,
                                sigma_tilde=self.sigma_tilde, sigma_H=self.sigma_H)

    # ---- reproduction ----
    def to_dict(self) -> dict[str, Any]:
        """Every parameter, JSON-ready."""
        nz = self.noise
        return {
            "profiles": [{"knots": list(pr.knots), "values": list(pr.values)} for pr in self.profiles],
            "b": [list(x) for x in self.b], "p": list(self.p), "a": list(self.a), "Q": [list(r) for r in self.Q],
            "noise": None if nz is None else {
                "xi": [list(x) for x in nz.xi], "eta": list(nz.eta),
                "psi": None if nz.psi is None else {"knots": list(nz.psi.knots), "values": list(nz.psi.values)}},
            "label": self.label,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Instance:
        """Inverse of to_dict."""
        nz = d.get("noise")
        noise = None if nz is None else Noise(
            xi=tuple(tuple(map(float, x)) for x in nz["xi"]), eta=tuple(map(float, nz.get("eta", ()))),
            psi=None if nz.get("psi") is None else Profile(tuple(nz["psi"]["knots"]), tuple(nz["psi"]["values"])))
        return cls(profiles=tuple(Profile(tuple(map(float, pr["knots"])), tuple(map(float, pr["values"])))
                                  for pr in d["profiles"]),
                   b=tuple(tuple(map(float, x)) for x in d["b"]), p=tuple(map(float, d["p"])),
                   a=tuple(map(float, d["a"])), Q=tuple(tuple(map(float, r)) for r in d["Q"]),
                   noise=noise, label=d.get("label", ""))

    def recipe(self) -> str:
        """Python lines that rebuild this instance."""
        return ("from mamltheory.verify.instances import Instance\n"
                f"inst = Instance.from_dict(json.loads({json.dumps(json.dumps(self.to_dict()))}))")


# ---- named instances used by the checks and tests -----------------------------------------------------------
def negative_curvature_pair(L: float = 1.0, b: float = 1.0) -> Instance:
    """Two equally likely tasks f_i(w) = −(L/2)w² ± b·w (1-D): Lemma A.2's (44) candidate counterexample."""
    return Instance(profiles=(Profile.constant(-L),) * 2, b=((b,), (-b,)), p=(0.5, 0.5),
                    label="f_i(w) = -(L/2) w^2 ± b w")


def bounded_negative_curvature_pair(L: float = 1.0, b: float = 1.0, r: float = 2.0, rho: float = 1.0) -> Instance:
    """As `negative_curvature_pair` on |w| <= r, with g'' rising at slope ρ to +L beyond: bounded below."""
    t = 2 * L / rho
    pr = Profile((-r - t, -r, r, r + t), (L, -L, -L, L))
    return Instance(profiles=(pr, pr), b=((b,), (-b,)), p=(0.5, 0.5),
                    label="g'' = -L on |w| <= r, rising to +L at slope rho; ± b w")


def vee_task(rho: float = 1.0, cap: float = 1.0) -> Instance:
    """One task with f''(w) = min(ρ|w|, cap): the HVP error (10) is exactly ρδ‖v‖²/2 at w = 0."""
    return Instance(profiles=(Profile.vee(rho, 0.0, cap),), b=((0.0,),), p=(1.0,), label="f'' = min(rho|w|, cap)")


def opposed_kinks(q: float = 0.5, kappa: float = 0.5, r: float = 1.0, b: float = 1.0) -> Instance:
    """Two equally likely 1-D tasks whose curvatures have opposite kinks at 0, f_i'' = q ± κ·tent(w/r), with
    opposite linear terms ±b: the task spread makes HF-MAML's finite-difference errors add up (Theorem H.1)."""
    return Instance(profiles=(Profile.tent(q, kappa, 0.0, r), Profile.tent(q, -kappa, 0.0, r)),
                    b=((b,), (-b,)), p=(0.5, 0.5), label="f_i'' = q ± kappa·tent(w/r), ± b w")


def plateau(R: float = 5.0, b: float = 1.0, L: float = 1.0, rho: float = 1.0) -> Instance:
    """One task f(w) = g(w) + b·w with g'' = 0 on [−R, 0], rising at slope ρ to L beyond (1-D).

    On the plateau ∇F(w) = b exactly (the inner step stays on it while α·b <= R), so an algorithm started at
    w_0 = 0 walks left with ‖∇F(w_k)‖ = b for about R/(β·b) iterations before the curvature stops it: the
    iteration count of Theorems F.1, G.1, H.1 (a descent argument) is tightest here.
    """
    t = L / rho
    pr = Profile((-R - t, -R, 0.0, t), (L, 0.0, 0.0, L))
    return Instance(profiles=(pr,), b=((b,),), p=(1.0,), label="g'' = 0 on [-R, 0], rising to L; + b w")


def quadratic_task(lam: float = 1.0) -> Instance:
    """One task f(w) = (λ/2)w² (ρ = 0, σ = 0): F(w) = (λ/2)(1 − αλ)²w², so exact MAML with a constant step β has
    ‖∇F(w_k)‖ = |1 − βλ(1 − αλ)²|^k ‖∇F(w_0)‖ (the hand-checked case of the tightness tests)."""
    return Instance(profiles=(Profile.constant(lam),), b=((0.0,),), p=(1.0,), label="f(w) = (lam/2) w^2")
