"""Buy-till-you-die models fitted by maximum likelihood: BG/NBD for the number of
future purchases and the probability a customer is still active, Gamma-Gamma for the
spend per purchase.

References
- BG/NBD: Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "'Counting Your
  Customers' the Easy Way: An Alternative to the Pareto/NBD Model", Marketing Science
  24(2), 275-284: the log-likelihood (eq. 6), P(alive) (eq. 13 of the technical
  appendix) and the conditional expectation E[Y(t) | x, t_x, T] (eq. 10).
- Gamma-Gamma: Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "RFM and CLV:
  Using Iso-Value Curves for Customer Base Analysis", Journal of Marketing Research
  42(4), 415-430; the likelihood and E[Z | p, q, gamma, m_x, x] as written out in
  Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value",
  http://www.brucehardie.com/notes/025/gamma_gamma.pdf.

Written on scipy rather than taken from a library: `lifetimes` has had no release
since 2020 and pins old dependencies, and its fork `btyd` (0.1a1) is an alpha. The
parameters are optimised on their logarithms so that they stay positive without
bounds: a short Nelder-Mead run finds the basin from a rough start, L-BFGS-B polishes.
Nelder-Mead is capped at 600 iterations: when the data carry no heterogeneity in spend
the Gamma-Gamma likelihood has a flat ridge (q and gamma growing together) that an
uncapped simplex walks for ever without changing the predictions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special


@dataclass(frozen=True)
class BgNbd:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float

    def p_alive(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """P(still active | x, t_x, T); 1 for a customer with no repeat purchase, who
        by the model's assumption cannot have dropped out yet."""
        x, t_x, T = _arrays(x, t_x, T)
        log_ratio = (self.r + x) * (np.log(self.alpha + T) - np.log(self.alpha + t_x))
        odds = np.where(x > 0, self.a / np.maximum(self.b + x - 1, 1e-12)
                        * np.exp(np.minimum(log_ratio, 700.0)), 0.0)
        return 1.0 / (1.0 + odds)

    def expected_purchases(self, t: float, x: np.ndarray, t_x: np.ndarray,
                           T: np.ndarray) -> np.ndarray:
        """E[purchases in (T, T + t] | x, t_x, T] (Fader, Hardie & Lee 2005, eq. 10)."""
        x, t_x, T = _arrays(x, t_x, T)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
        head = (a + b + x - 1) / (a - 1)
        body = 1.0 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp
        return head * body * self.p_alive(x, t_x, T)

    def variance_purchases(self, t: float, x: np.ndarray, t_x: np.ndarray,
                           T: np.ndarray) -> np.ndarray:
        """An approximate variance of the purchases in (T, T + t]: a mixture of "gone"
        (zero purchases) and "active" with a negative binomial count whose mean is the
        conditional expectation given activity; it widens the interval for customers
        whose activity is uncertain, which is what the interval has to show."""
        alive = self.p_alive(x, t_x, T)
        mean = self.expected_purchases(t, x, t_x, T)
        active_mean = np.divide(mean, alive, out=np.zeros_like(mean), where=alive > 0)
        shape = self.r + np.asarray(x, dtype=float)
        active_var = active_mean + active_mean ** 2 / shape
        return alive * (active_var + active_mean ** 2) - mean ** 2


@dataclass(frozen=True)
class GammaGamma:
    p: float
    q: float
    gamma: float
    log_likelihood: float

    def expected_spend(self, x: np.ndarray, m_x: np.ndarray) -> np.ndarray:
        """E[spend per purchase | x, m_x]: the population mean shrunk toward the
        customer's own average as their purchases add up; the population mean for a
        customer without repeat purchases."""
        x = np.asarray(x, dtype=float)
        m_x = np.asarray(m_x, dtype=float)
        p, q, g = self.p, self.q, self.gamma
        return (g + m_x * x) * p / (p * x + q - 1)


def bgnbd_log_likelihood(params: np.ndarray, x: np.ndarray, t_x: np.ndarray,
                         T: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Sum of the BG/NBD log-likelihood (Fader, Hardie & Lee 2005, eq. 6)."""
    r, alpha, a, b = params
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = (special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b)
          - special.gammaln(a + b + x))
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300))
                      - (r + x) * np.log(alpha + t_x), -np.inf)
    ll = a1 + a2 + np.logaddexp(a3, a4)
    return float(np.sum(ll if weights is None else ll * weights))


def fit_bgnbd(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> BgNbd:
    """Maximum-likelihood BG/NBD. Customers with the same (x, t_x, T) are collapsed
    into one weighted row: with daily data and a shared calibration end, a million
    purchases reduce to a few tens of thousands of distinct rows."""
    x, t_x, T = _arrays(x, t_x, T)
    stacked = np.column_stack([x, t_x, T])
    uniq, counts = np.unique(stacked, axis=0, return_counts=True)
    ux, utx, uT = uniq[:, 0], uniq[:, 1], uniq[:, 2]
    w = counts.astype(float)
    scale = max(float(np.mean(T)), 1e-9)

    def loss(logp: np.ndarray) -> float:
        value = -bgnbd_log_likelihood(np.exp(logp), ux, utx, uT, w)
        return value if np.isfinite(value) else 1e300

    start = np.log([1.0, scale, 1.0, 1.0])
    res = optimize.minimize(loss, start, method="Nelder-Mead",
                            options={"maxiter": 600, "xatol": 1e-6, "fatol": 1e-8})
    res = optimize.minimize(loss, res.x, method="L-BFGS-B")
    r, alpha, a, b = np.exp(res.x)
    return BgNbd(float(r), float(alpha), float(a), float(b), float(-res.fun))


def gamma_gamma_log_likelihood(params: np.ndarray, x: np.ndarray, m_x: np.ndarray) -> float:
    """Sum of the Gamma-Gamma log-likelihood of the customers' average spends."""
    p, q, g = params
    px = p * x
    ll = (special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q)
          + q * np.log(g) + (px - 1) * np.log(m_x) + px * np.log(x)
          - (px + q) * np.log(g + x * m_x))
    return float(np.sum(ll))


def fit_gamma_gamma(x: np.ndarray, m_x: np.ndarray) -> GammaGamma:
    """Maximum-likelihood Gamma-Gamma over customers with at least one repeat purchase
    and a positive average (the model is for positive spends: refunds are netted
    into the purchase they belong to before this)."""
    x = np.asarray(x, dtype=float)
    m_x = np.asarray(m_x, dtype=float)
    keep = (x > 0) & (m_x > 0)
    x, m_x = x[keep], m_x[keep]

    def loss(logp: np.ndarray) -> float:
        value = -gamma_gamma_log_likelihood(np.exp(logp), x, m_x)
        return value if np.isfinite(value) else 1e300

    start = np.log([1.0, 1.0, max(float(np.mean(m_x)), 1.0)])
    res = optimize.minimize(loss, start, method="Nelder-Mead",
                            options={"maxiter": 600, "xatol": 1e-6, "fatol": 1e-8})
    res = optimize.minimize(loss, res.x, method="L-BFGS-B")
    p, q, g = np.exp(res.x)
    return GammaGamma(float(p), float(q), float(g), float(-res.fun))


def _arrays(*values: np.ndarray) -> tuple[np.ndarray, ...]:
    return tuple(np.asarray(v, dtype=float) for v in values)
