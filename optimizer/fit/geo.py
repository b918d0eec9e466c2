"""Geo-level curves from a geo panel: each geo's effectiveness, partially pooled.

The joint fit gives national curves per head (one shape per channel; geo and week effects).
Each geo g then gets its own effectiveness m_gc = 1 + d_gc per channel, a multiplier on its
fitted media contribution M_gc: within each geo (levels removed, as its geo effect would)
the residual is regressed on the contributions, r_g = M_g d_g + noise, with the hierarchical
prior d_gc ~ N(0, tau_c^2). The pooling strength tau_c is estimated from the data by EM
(empirical Bayes): a channel whose geos really differ keeps their differences, one whose
differences are noise is shrunk to the national curve, and a small, noisy geo borrows from the
others. The cell's curve is the national per-head curve at the geo's population, times m_gc;
its draws combine the national bootstrap draws with draws of m_gc from its posterior.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from budgetopt.optimizer.history.loaders import GeoPanel
from budgetopt.optimizer.model.adstock import DELAYED_LENGTH, geometric_adstock
from budgetopt.optimizer.model.cells import GeoCells
from budgetopt.optimizer.model.curves import CurveSet
from budgetopt.optimizer.model.draws import ParameterDraws
from budgetopt.optimizer.model.media import MediaModel
from budgetopt.optimizer.model.report import GeoEffects
from budgetopt.optimizer.settings import quarter_periods

__all__ = ["pool_geo_effects", "geo_model", "LOWEST_EFFECTIVENESS"]

EM_ROUNDS = 200
EM_TOLERANCE = 1e-8
START_SPREAD = 0.3  # tau before the first EM round
LOWEST_SPREAD = 1e-4  # tau this small means "no difference between geos"
LOWEST_EFFECTIVENESS = 0.02  # a cell keeps at least this share of the national effectiveness


def pool_geo_effects(residual: np.ndarray, media: np.ndarray, geos, channels) -> GeoEffects:
    """Each geo's effectiveness per channel from the joint fit's ``residual`` (geos x periods)
    and fitted ``media`` contributions (geos x periods x channels), partially pooled."""
    r = residual - residual.mean(axis=1, keepdims=True)
    x = media - media.mean(axis=1, keepdims=True)
    noise = np.maximum(r.var(axis=1), 1e-12)  # per geo: small geos are noisier per head
    gram = np.einsum("gtc,gtd->gcd", x, x) / noise[:, None, None]
    moment = np.einsum("gtc,gt->gc", x, r) / noise[:, None]
    tau2 = np.full(x.shape[2], START_SPREAD ** 2)
    for _ in range(EM_ROUNDS):
        mean, cov = _posterior(gram, moment, tau2)
        new = np.maximum((mean ** 2 + np.diagonal(cov, axis1=1, axis2=2)).mean(axis=0),
                         LOWEST_SPREAD ** 2)
        done = np.max(np.abs(new - tau2)) <= EM_TOLERANCE
        tau2 = new
        if done:
            break
    mean, cov = _posterior(gram, moment, tau2)
    return GeoEffects(geos=tuple(geos), channels=tuple(channels),
                      effectiveness=np.maximum(1 + mean, LOWEST_EFFECTIVENESS),
                      sd=np.sqrt(np.diagonal(cov, axis1=1, axis2=2)), spread=np.sqrt(tau2),
                      covariance=cov)


def _posterior(gram, moment, tau2):
    """Per geo the posterior mean and covariance of d_g under the prior N(0, diag(tau2))."""
    precision = gram + np.diag(1 / tau2)[None]
    cov = np.linalg.inv(precision)
    return np.einsum("gcd,gd->gc", cov, moment), cov


def geo_model(national: MediaModel, panel: GeoPanel, effects: GeoEffects, *, seed: int
              ) -> MediaModel:
    """The geo model: one entry per geo and channel (geo-major), each the national curve at
    the geo's population share times its effectiveness, with the geo's own spend facts."""
    geos, channels = len(panel.geos), len(national)
    owner = np.tile(np.arange(channels), geos)
    share = np.repeat(panel.population / panel.population.sum(), channels)
    factor = effects.effectiveness.ravel()
    curves = national.curves.subset(owner).scaled(1 / share, factor * share)
    spend = panel.spend.transpose(0, 2, 1).reshape(geos * channels, -1)  # entries x periods
    decay = national.decay[owner]
    delayed = ~np.isnan(national.peak[owner])
    carry = np.array([0.0 if delayed[e] or np.isnan(decay[e])
                      else geometric_adstock(spend[e], decay[e])[-1] for e in range(len(spend))])
    recent = np.zeros((len(spend), DELAYED_LENGTH - 1))
    recent[:, max(0, DELAYED_LENGTH - 1 - spend.shape[1]):] = spend[:, -(DELAYED_LENGTH - 1):]
    cells = GeoCells(geo=tuple(np.repeat(np.array(panel.geos, dtype=object), channels)),
                     channel=tuple(national.names[c] for c in owner),
                     population=dict(zip(panel.geos, map(float, panel.population))))
    return replace(
        national, names=cells.labels, curves=curves, decay=decay,
        normalized=national.normalized[owner],
        current_spend=spend[:, -quarter_periods(national.period):].mean(axis=1),
        carry_in=carry, peak=national.peak[owner],
        recent_spend=np.where(delayed[:, None], recent, 0.0),
        observed=np.column_stack([spend.min(axis=1), spend.max(axis=1), spend.mean(axis=1)]),
        draws=_cell_draws(national, effects, owner, share, seed), cells=cells)


def _cell_draws(national: MediaModel, effects: GeoEffects, owner, share, seed: int
                ) -> ParameterDraws | None:
    """Each national draw at every cell, with the cell's effectiveness drawn from its
    posterior (per geo jointly over its channels)."""
    draws = national.draws
    if draws is None:
        return None
    rng = np.random.default_rng(seed + 2)
    count, (geos, channels) = len(draws), effects.effectiveness.shape
    root = np.linalg.cholesky(effects.covariance + 1e-15 * np.eye(channels))
    noise = np.einsum("gcd,ngd->ngc", root, rng.standard_normal((count, geos, channels)))
    factors = np.maximum(effects.effectiveness[None] + noise, LOWEST_EFFECTIVENESS)
    family = (np.tile(national.curves.family, (count, 1)) if draws.family is None
              else draws.family)[:, owner]
    curves = [CurveSet(family[d], draws.beta[d, owner], draws.k[d, owner], draws.s[d, owner])
              .scaled(1 / share, factors[d].ravel() * share) for d in range(count)]
    return ParameterDraws(beta=np.array([c.beta for c in curves]),
                          k=np.array([c.k for c in curves]),
                          s=draws.s[:, owner], decay=draws.decay[:, owner],
                          peak=draws.peak[:, owner], family=family)
