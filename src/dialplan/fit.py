"""Contact rates from call history: ``dialplan fit`` (issue 7).

The planner's contact model (contract 2.4) is ``p = min(1, rpc_rate_k * weight[phone_type_k][h])``
with ``h`` the local hour of the attempt in the contact's first resolved zone. This module
estimates both factors from ``history``:

* **Success.** A debtor number's attempt succeeds when its outcome is ``rpc``; a third
  party's when it is ``third_party`` or ``rpc`` (someone on that number talked to the agent;
  the planner then applies ``third_party.weight``). ``invalid_number`` rows describe the
  number, not the hour, and the number is never called again: they are left out of the fit
  and of the scores. Every other outcome is a failure.
* **Model.** ``y ~ Bernoulli(r_k * w[t, h])``, fitted as the Poisson-gamma model it is close
  to (contact rates are small): every contact's rate has a gamma prior with the mean ``m_g``
  of its group (role and case status; the group mean is itself pooled toward the role mean)
  and a strength ``b_g`` (in attempts at weight 1) chosen by empirical Bayes (the
  negative-binomial marginal likelihood over a grid); the posterior mean is
  ``r_k = (s_k + b_g m_g) / (E_k + b_g)`` with ``s_k`` the contact's successes and
  ``E_k = sum over its attempts of w[t, h]``, so a number answered 0 of 1 times keeps most
  of its group's rate. Each hourly cell has a gamma prior centred on its two neighbouring
  hours pooled with the type's mean, ``w[t, h] = (S + c * prior) / (R + c)`` with ``S``
  the cell's successes and ``R`` the sum of ``r_k`` over its attempts; ``c`` is chosen by
  empirical Bayes as well. The two steps alternate (EM for this model) for ``ITERATIONS``.
* **Normalisation.** Each phone type's curve has mean 1 over the policy's calling hours
  (hours that overlap the debtor window of some weekday), so ``rpc_rate`` is the number's
  rate at an average calling hour. Curves are per phone type, shared by both roles (the
  contract's curves.csv has no role); the role's level is in the rates.
* **Validation.** The last ``holdout_days`` days of history (policy-zone dates) are held out;
  a model fitted on the rest predicts them, scored by log-loss (probabilities clipped to
  ``[EPS, 1 - EPS]``) and Brier score against: the flat defaults (policy ``rpc_rate`` by role,
  weight 1), unsmoothed frequencies (each contact's own success share times the cell's share
  over its type's share) and the portfolio's inputs as given (its rpc_rate column and
  curves.csv). The written model is then fitted on all of the history.

Everything is columns: bincounts over history rows, no per-row Python. No phone number or
balance appears in the report.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DialplanError, InputError
from .io.portfolio import PHONE_TYPES, Portfolio, read_portfolio
from .io.writers import fsync_path, new_stage, publish
from .rules.zones import resolve_contact_zones

log = logging.getLogger("dialplan.fit")

ITERATIONS = 8
EPS = 1e-3  # probabilities are clipped to [EPS, 1 - EPS] for the log-loss
NEIGHBOUR_PRIOR = 5.0  # pseudo expected successes pulling a cell's prior toward its type mean
GROUP_PRIOR = 50.0  # pseudo attempts (at weight 1) pulling a group's mean toward its role mean
EB_SAMPLE = 200_000  # contacts per group used to choose the prior strength
RATE_GRID = np.logspace(-0.5, 4.0, 28)
CURVE_GRID = np.logspace(-1.0, 5.0, 37)
ROLES = ("debtor", "third_party")
REPORT_JSON = "fit_report.json"
REPORT_MD = "fit_report.md"


class FitError(DialplanError):
    """The fit cannot be written (output directory problems)."""


# ---------------------------------------------------------------------------------------------
# numerics
# ---------------------------------------------------------------------------------------------
def lgamma(x: np.ndarray) -> np.ndarray:
    """log Gamma(x) for x > 0, vectorised (shift to x >= 7, then Stirling's series; |err| < 1e-10)."""
    x = np.asarray(x, dtype=np.float64)
    small = x < 7.0
    shift = np.zeros_like(x)
    y = x.copy()
    if small.any():
        xs = x[small]
        prod = np.ones_like(xs)
        for j in range(7):
            prod *= xs + j
        shift[small] = np.log(prod)
        y[small] = xs + 7.0
    inv = 1.0 / y
    inv2 = inv * inv
    series = inv * (1.0 / 12 - inv2 * (1.0 / 360 - inv2 * (1.0 / 1260 - inv2 / 1680)))
    return (y - 0.5) * np.log(y) - y + 0.5 * math.log(2 * math.pi) + series - shift


def _nb_loglik(s: np.ndarray, exposure: np.ndarray, mean: np.ndarray, strength: float) -> float:
    """Log marginal likelihood (up to a constant) of counts ``s`` with Poisson(exposure * x),
    x ~ Gamma(shape = strength * mean, rate = strength)."""
    a = np.maximum(strength * mean, 1e-12)
    b = strength
    total = lgamma(s + a) - lgamma(a) + a * np.log(b / (b + exposure))
    pos = s > 0
    total[pos] += s[pos] * np.log(exposure[pos] / (b + exposure[pos]))
    return float(total.sum())


def _best_strength(s, exposure, mean, grid, slack: float = 0.0) -> float:
    """The prior strength of ``grid`` with the largest marginal likelihood; with ``slack`` > 0
    the weakest one within ``slack`` log-likelihood units of the best (the data cannot tell
    those apart: keep the cell's own data)."""
    if len(s) == 0 or s.sum() == 0:
        return float(grid[-1])
    scores = np.array([_nb_loglik(s, exposure, mean, g) for g in grid])
    ok = np.flatnonzero(scores >= scores.max() - slack)
    return float(grid[ok[0]])


def calling_hours(policy) -> np.ndarray:
    """Hours 0..23 that overlap the debtor calling window on some weekday (all 24 if none)."""
    mask = np.zeros(24, dtype=bool)
    for wd in range(7):
        win = policy.window("debtor", wd)
        if win is None:
            continue
        start, end = win
        for h in range(24):
            if h * 60 < end and (h + 1) * 60 > start:
                mask[h] = True
    return mask if mask.any() else np.ones(24, dtype=bool)


# ---------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------
@dataclass
class Attempts:
    """Usable history attempts as columns (one entry per row)."""

    contact: np.ndarray  # int64 index into the contacts frame
    hour: np.ndarray  # int64 local hour 0..23 (contact's first zone)
    success: np.ndarray  # bool
    t_ns: np.ndarray  # int64 UTC nanoseconds
    excluded: int = 0  # invalid_number rows left out

    def take(self, mask: np.ndarray) -> "Attempts":
        return Attempts(self.contact[mask], self.hour[mask], self.success[mask], self.t_ns[mask], 0)

    def __len__(self) -> int:
        return len(self.contact)


@dataclass
class Contacts:
    """What the model needs of each contact (columns)."""

    ptype: np.ndarray  # int64 code into PHONE_TYPES
    role: np.ndarray  # int64 0 debtor, 1 third party
    group: np.ndarray  # int64 code into groups
    groups: list[tuple[str, str]]  # (role, status) of each group
    default_rate: np.ndarray  # policy default rpc_rate by role (segment-aware)
    given_rate: np.ndarray  # rpc_rate as read (column, else default)
    given_weight: np.ndarray  # 4 x 24: the portfolio's curves (1 where missing)

    def __len__(self) -> int:
        return len(self.ptype)


def _codes(series: pd.Series, index: pd.Index) -> np.ndarray:
    """Position in ``index`` of each value (-1 when absent); categoricals map their categories."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        cat = index.get_indexer(series.cat.categories)
        codes = series.cat.codes.to_numpy()
        out = np.where(codes >= 0, cat[np.maximum(codes, 0)], -1)
        return out.astype(np.int64)
    return index.get_indexer(series).astype(np.int64)


def _utc_ns(series: pd.Series) -> np.ndarray:
    idx = pd.DatetimeIndex(series)
    if idx.tz is None:
        idx = idx.tz_localize("UTC")
    return idx.tz_convert("UTC").as_unit("ns").asi8


def contact_table(pf: Portfolio) -> Contacts:
    con, acc, pol = pf.contacts, pf.accounts, pf.policy
    ptype = pd.Index(PHONE_TYPES).get_indexer(con["phone_type"]).astype(np.int64)
    ptype[ptype < 0] = 0
    role = (con["role"].to_numpy(dtype=object) == "third_party").astype(np.int64)
    status = con["account_id"].map(acc.set_index("account_id")["status"]).fillna("").to_numpy(dtype=object)
    scode, suniq = pd.factorize(status, sort=True)
    gcodes, guniq = pd.factorize(role * max(len(suniq), 1) + scode, sort=True)
    groups = [(ROLES[int(g) // max(len(suniq), 1)], str(suniq[int(g) % max(len(suniq), 1)])) for g in guniq]
    segment = con["account_id"].map(acc.set_index("account_id")["segment"]).fillna("")
    default = np.empty(len(con), dtype=np.float64)
    frame = pd.DataFrame({"s": segment.to_numpy(dtype=object), "r": con["role"].to_numpy(dtype=object)})
    for (seg, rl), idx in frame.groupby(["s", "r"], sort=False).indices.items():
        default[idx] = pol.for_segment(seg).default_rpc_rate(rl)
    given_w = np.ones((len(PHONE_TYPES), 24))
    cur = pf.curves
    if len(cur):
        t = pd.Index(PHONE_TYPES).get_indexer(cur["phone_type"])
        ok = t >= 0
        given_w[t[ok], cur["hour"].to_numpy()[ok]] = cur["weight"].to_numpy()[ok]
    return Contacts(ptype, role, gcodes.astype(np.int64), groups, default,
                    con["rpc_rate"].to_numpy(dtype=np.float64), given_w)


def local_hours(t_ns: np.ndarray, zone_code: np.ndarray, zones: list[str]) -> np.ndarray:
    """Local hour of each instant in the zone ``zones[zone_code]`` (vectorised per zone)."""
    hour = np.zeros(len(t_ns), dtype=np.int64)
    if not len(t_ns):
        return hour
    order = np.argsort(zone_code, kind="stable") if len(zones) > 8 else None
    if order is not None:
        bounds = np.searchsorted(zone_code[order], np.arange(len(zones) + 1))
    for z, name in enumerate(zones):
        idx = order[bounds[z]:bounds[z + 1]] if order is not None else np.flatnonzero(zone_code == z)
        if not len(idx):
            continue
        local = pd.DatetimeIndex(pd.to_datetime(t_ns[idx], utc=True)).tz_convert(name)
        hour[idx] = local.hour
    return hour


def attempts_of(pf: Portfolio, contacts: Contacts) -> Attempts:
    """History rows as model columns: contact, local hour, success, time."""
    hist, con = pf.history, pf.contacts
    k = _codes(hist["contact_id"], pd.Index(con["contact_id"]))
    outcome = hist["outcome"]
    if isinstance(outcome.dtype, pd.CategoricalDtype):
        names = outcome.cat.categories.to_numpy(dtype=object)
        ocode = outcome.cat.codes.to_numpy()
    else:
        ocode, names = pd.factorize(outcome)
        names = np.asarray(names, dtype=object)
    is_rpc = np.isin(names, ["rpc"])[ocode]
    is_tp = np.isin(names, ["third_party"])[ocode]
    invalid = np.isin(names, ["invalid_number"])[ocode]
    ok = (k >= 0) & (ocode >= 0)
    keep = ok & ~invalid
    k = k[keep]
    success = is_rpc[keep] | (is_tp[keep] & (contacts.role[k] == 1))
    t_ns = _utc_ns(hist["called_at"])[keep]
    zones = resolve_contact_zones(con, pf.accounts, pf.policy.timezone)
    first = zones.str.split("|").str[0] if len(con) else pd.Series(dtype=object)
    zcode, zuniq = pd.factorize(first)
    hour = local_hours(t_ns, zcode.astype(np.int64)[k], [str(z) for z in zuniq])
    return Attempts(k, hour, success, t_ns, int((ok & invalid).sum()))


# ---------------------------------------------------------------------------------------------
# the model
# ---------------------------------------------------------------------------------------------
@dataclass
class Model:
    weight: np.ndarray  # 4 x 24, mean 1 over calling hours for types with data
    rate: np.ndarray  # per contact
    group_mean: np.ndarray  # per group
    group_strength: np.ndarray  # per group (pseudo attempts)
    curve_strength: np.ndarray  # per phone type (pseudo exposure)
    has_data: np.ndarray  # per phone type: any attempt
    cell_attempts: np.ndarray  # 4 x 24
    cell_successes: np.ndarray  # 4 x 24
    iterations: int = 0
    info: dict = field(default_factory=dict)

    def predict(self, contacts: Contacts, k: np.ndarray, hour: np.ndarray) -> np.ndarray:
        return np.minimum(1.0, self.rate[k] * self.weight[contacts.ptype[k], hour])


def _role_means(contacts: Contacts, s_k, e_k) -> np.ndarray:
    """Per role: successes / exposure pooled toward the role's mean policy default."""
    out = np.zeros(2)
    for r in (0, 1):
        sel = contacts.role == r
        prior = float(contacts.default_rate[sel].mean()) if sel.any() else 0.15
        out[r] = (s_k[sel].sum() + GROUP_PRIOR * prior) / (e_k[sel].sum() + GROUP_PRIOR)
    return out


def _rate_step(contacts: Contacts, s_k, e_k, choose: bool, strength: np.ndarray | None):
    ng = len(contacts.groups)
    role_mean = _role_means(contacts, s_k, e_k)
    g_role = np.array([0 if g[0] == "debtor" else 1 for g in contacts.groups], dtype=np.int64)
    gs = np.bincount(contacts.group, weights=s_k, minlength=ng)
    ge = np.bincount(contacts.group, weights=e_k, minlength=ng)
    gmean = (gs + GROUP_PRIOR * role_mean[g_role]) / (ge + GROUP_PRIOR)
    if choose or strength is None:
        strength = np.full(ng, RATE_GRID[-1])
        rng = np.random.default_rng(0)
        has = e_k > 0
        order = np.argsort(contacts.group, kind="stable")
        bounds = np.searchsorted(contacts.group[order], np.arange(ng + 1))
        for g in range(ng):
            members = order[bounds[g]:bounds[g + 1]]
            members = members[has[members]]
            if len(members) > EB_SAMPLE:
                members = np.sort(rng.choice(members, EB_SAMPLE, replace=False))
            strength[g] = _best_strength(s_k[members], e_k[members], np.full(len(members), gmean[g]), RATE_GRID)
    b = strength[contacts.group]
    rate = (s_k + b * gmean[contacts.group]) / (e_k + b)
    return np.minimum(rate, 1.0), gmean, strength


def _curve_step(S, R, calling, choose: bool, strength: float | None):
    """Smoothed, normalised weights from cell successes S and exposures R (4 x 24)."""
    type_mean = S.sum(axis=1) / np.maximum(R.sum(axis=1), 1e-12)
    nS = np.roll(S, 1, axis=1) + np.roll(S, -1, axis=1)
    nR = np.roll(R, 1, axis=1) + np.roll(R, -1, axis=1)
    k0 = NEIGHBOUR_PRIOR
    pseudo = k0 / np.maximum(type_mean, 1e-12)[:, None]  # k0 pseudo successes at the type mean
    has = R.sum(axis=1) > 0
    if choose or strength is None:  # one strength per phone type: some curves are smoother than others
        # chosen with the prior of the two neighbours only, so no cell is its own evidence
        prior = (nS + k0) / (nR + pseudo)
        strength = np.full(len(S), float(CURVE_GRID[-1]))
        for t in np.flatnonzero(has):
            cells = R[t] > 0
            strength[t] = _best_strength(S[t, cells], R[t, cells], prior[t, cells], CURVE_GRID)
    # the estimate shrinks toward the three-hour pooled ratio (a strong prior ends as a moving
    # average of the curve, never as the neighbours without the hour itself)
    prior = (nS + S + k0) / (nR + R + pseudo)
    w = (S + strength[:, None] * prior) / (R + strength[:, None])
    scale = w[:, calling].mean(axis=1)
    w = w / np.where(scale > 0, scale, 1.0)[:, None]
    w[~has] = 1.0
    return w, strength


def fit_model(att: Attempts, contacts: Contacts, calling: np.ndarray, iterations: int = ITERATIONS) -> Model:
    """Alternate the rate step and the curve step (EM of the Poisson-gamma model)."""
    nc, nt = len(contacts), len(PHONE_TYPES)
    k, h = att.contact, att.hour
    y = att.success.astype(np.float64)
    cell = contacts.ptype[k] * 24 + h
    s_k = np.bincount(k, weights=y, minlength=nc)
    S = np.bincount(cell, weights=y, minlength=nt * 24).reshape(nt, 24)
    N = np.bincount(cell, minlength=nt * 24).reshape(nt, 24).astype(np.float64)
    w = np.ones((nt, 24))
    strength_r = strength_c = None
    rate = gmean = None
    for it in range(iterations):
        e_k = np.bincount(k, weights=w.ravel()[cell], minlength=nc)
        rate, gmean, strength_r = _rate_step(contacts, s_k, e_k, choose=it in (0, 1, iterations - 1), strength=strength_r)
        R = np.bincount(cell, weights=rate[k], minlength=nt * 24).reshape(nt, 24)
        w, strength_c = _curve_step(S, R, calling, choose=it in (0, 1, iterations - 1), strength=strength_c)
    e_k = np.bincount(k, weights=w.ravel()[cell], minlength=nc)
    rate, gmean, strength_r = _rate_step(contacts, s_k, e_k, choose=False, strength=strength_r)
    has = N.sum(axis=1) > 0
    return Model(w, rate, gmean, strength_r, np.asarray(strength_c, dtype=float), has, N, S, iterations)


def unsmoothed(att: Attempts, contacts: Contacts):
    """Raw frequencies: contact share x (cell share / type share); unseen contacts: their group's share."""
    nc, nt, ng = len(contacts), len(PHONE_TYPES), len(contacts.groups)
    k, y = att.contact, att.success.astype(np.float64)
    n_k = np.bincount(k, minlength=nc).astype(np.float64)
    s_k = np.bincount(k, weights=y, minlength=nc)
    gn = np.bincount(contacts.group, weights=n_k, minlength=ng)
    gs = np.bincount(contacts.group, weights=s_k, minlength=ng)
    gshare = np.where(gn > 0, gs / np.maximum(gn, 1), contacts.default_rate.mean() if nc else 0.15)
    rate = np.where(n_k > 0, s_k / np.maximum(n_k, 1), gshare[contacts.group])
    cell = contacts.ptype[k] * 24 + att.hour
    N = np.bincount(cell, minlength=nt * 24).reshape(nt, 24).astype(np.float64)
    S = np.bincount(cell, weights=y, minlength=nt * 24).reshape(nt, 24)
    tshare = S.sum(axis=1) / np.maximum(N.sum(axis=1), 1)
    factor = np.where((N > 0) & (tshare[:, None] > 0), (S / np.maximum(N, 1)) / np.maximum(tshare[:, None], 1e-12), 1.0)
    return rate, factor


def scores(p: np.ndarray, y: np.ndarray) -> dict:
    if not len(p):
        return {"log_loss": None, "brier": None}
    q = np.clip(p, EPS, 1 - EPS)
    yy = y.astype(np.float64)
    ll = -(yy * np.log(q) + (1 - yy) * np.log1p(-q)).mean()
    brier = ((p - yy) ** 2).mean()
    return {"log_loss": float(ll), "brier": float(brier)}


def holdout(att: Attempts, contacts: Contacts, calling: np.ndarray, days: int, zone: str) -> dict:
    """Fit on all but the last ``days`` policy-zone dates of history; score the held-out rows."""
    if days <= 0 or not len(att):
        return {"days": days, "skipped": "no holdout requested" if days <= 0 else "no usable history"}
    last = pd.Timestamp(int(att.t_ns.max()), tz="UTC").tz_convert(zone).date()
    first_held = last - dt.timedelta(days=days - 1)
    cut = pd.Timestamp(first_held.isoformat(), tz=zone).tz_convert("UTC").as_unit("ns").value
    held = att.t_ns >= cut
    train, test = att.take(~held), att.take(held)
    out = {"days": days, "from": first_held.isoformat(), "to": last.isoformat(),
           "train_rows": len(train), "holdout_rows": len(test)}
    if not len(train) or not len(test):
        out["skipped"] = "the split leaves no training or no holdout rows"
        return out
    model = fit_model(train, contacts, calling)
    k, h, y = test.contact, test.hour, test.success
    raw_rate, raw_factor = unsmoothed(train, contacts)
    preds = {
        "fitted": model.predict(contacts, k, h),
        "flat": np.minimum(1.0, contacts.default_rate[k]),
        "unsmoothed": np.minimum(1.0, raw_rate[k] * raw_factor[contacts.ptype[k], h]),
        "inputs": np.minimum(1.0, contacts.given_rate[k] * contacts.given_weight[contacts.ptype[k], h]),
    }
    out["successes"] = int(y.sum())
    out["models"] = {name: scores(p, y) for name, p in preds.items()}
    out["mean_predicted"] = {name: float(p.mean()) for name, p in preds.items()}
    out["observed_rate"] = float(y.mean())
    return out


# ---------------------------------------------------------------------------------------------
# the command
# ---------------------------------------------------------------------------------------------
@dataclass
class FitResult:
    out: Path
    model: Model
    report: dict


def fit_portfolio(pf: Portfolio, holdout_days: int = 7) -> tuple[Model, Contacts, dict]:
    """Fit the model on a read portfolio; returns the model, the contact table and the report."""
    started = time.perf_counter()
    contacts = contact_table(pf)
    att = attempts_of(pf, contacts)
    calling = calling_hours(pf.policy)
    t_read = time.perf_counter() - started
    validation = holdout(att, contacts, calling, holdout_days, pf.policy.timezone)
    model = fit_model(att, contacts, calling)
    report = _report(pf, att, contacts, model, calling, validation)
    report["seconds"] = {"prepare": round(t_read, 3), "total": round(time.perf_counter() - started, 3)}
    return model, contacts, report


def _report(pf, att, contacts, model, calling, validation) -> dict:
    con_n = np.bincount(att.contact, minlength=len(contacts))
    groups = []
    for g, (role, status) in enumerate(contacts.groups):
        sel = contacts.group == g
        groups.append({
            "role": role, "status": status, "contacts": int(sel.sum()),
            "attempts": int(con_n[sel].sum()), "mean_rate": round(float(model.group_mean[g]), 6),
            "prior_strength": round(float(model.group_strength[g]), 3),
        })
    curves = []
    for t, name in enumerate(PHONE_TYPES):
        if not model.has_data[t]:
            continue
        for h in range(24):
            curves.append({"phone_type": name, "hour": h, "weight": round(float(model.weight[t, h]), 4),
                           "attempts": int(model.cell_attempts[t, h]), "successes": int(model.cell_successes[t, h])})
    attempted = con_n > 0
    return {
        "policy": pf.policy.name,
        "history_rows": int(len(pf.history)),
        "rows_used": int(len(att)),
        "rows_excluded_invalid_number": int(att.excluded),
        "successes": int(att.success.sum()),
        "success_rule": {"debtor": ["rpc"], "third_party": ["third_party", "rpc"]},
        "contacts": int(len(contacts)),
        "contacts_with_history": int(attempted.sum()),
        "calling_hours": [int(h) for h in np.flatnonzero(calling)],
        "normalisation": "each phone type's weights average 1 over the calling hours",
        "iterations": model.iterations,
        "curve_prior_strength": {PHONE_TYPES[t]: round(float(model.curve_strength[t]), 4)
                                 for t in range(len(PHONE_TYPES)) if model.has_data[t]},
        "rate_groups": groups,
        "rpc_rate": {
            "mean": round(float(model.rate.mean()), 6) if len(contacts) else None,
            "min": round(float(model.rate.min()), 6) if len(contacts) else None,
            "max": round(float(model.rate.max()), 6) if len(contacts) else None,
        },
        "curves": curves,
        "holdout": validation,
    }


def render_markdown(report: dict) -> str:
    lines = ["# Fit report", "",
             f"Policy `{report['policy']}`; {report['rows_used']:,} history attempts used "
             f"({report['rows_excluded_invalid_number']:,} invalid_number rows left out), "
             f"{report['successes']:,} successes (debtor: rpc; third party: third_party or rpc); "
             f"{report['contacts_with_history']:,} of {report['contacts']:,} numbers have history.",
             "",
             "Model: `p = min(1, rpc_rate_k * weight[phone_type][local hour])`; "
             f"{report['normalisation']}; curve prior strength {report['curve_prior_strength']}.", ""]
    hv = report["holdout"]
    lines.append("## Holdout")
    lines.append("")
    if "models" in hv:
        lines.append(f"Last {hv['days']} days ({hv['from']} .. {hv['to']}): {hv['holdout_rows']:,} attempts held out, "
                     f"{hv['train_rows']:,} fitted on; observed success rate {hv['observed_rate']:.4f}.")
        lines += ["", "| model | log-loss | Brier | mean p |", "|---|---|---|---|"]
        for name, sc in hv["models"].items():
            lines.append(f"| {name} | {sc['log_loss']:.5f} | {sc['brier']:.5f} | {hv['mean_predicted'][name]:.4f} |")
        lines += ["", "flat = policy default rpc_rate by role, weight 1; unsmoothed = raw frequencies; "
                  "inputs = the portfolio's rpc_rate and curves as given.", ""]
    else:
        lines += [f"skipped: {hv.get('skipped')}", ""]
    lines += ["## Curves", ""]
    types = sorted({c["phone_type"] for c in report["curves"]}, key=PHONE_TYPES.index)
    if types:
        lines.append("| hour | " + " | ".join(types) + " |")
        lines.append("|---" * (len(types) + 1) + "|")
        table = {(c["phone_type"], c["hour"]): c for c in report["curves"]}
        for h in range(24):
            cells = [f"{table[(t, h)]['weight']:.3f} ({table[(t, h)]['successes']}/{table[(t, h)]['attempts']})" for t in types]
            lines.append(f"| {h:02d} | " + " | ".join(cells) + " |")
    lines += ["", "## Rate groups", "", "| role | status | contacts | attempts | mean rate | prior strength |",
              "|---|---|---|---|---|---|"]
    for g in report["rate_groups"]:
        lines.append(f"| {g['role']} | {g['status']} | {g['contacts']:,} | {g['attempts']:,} | {g['mean_rate']:.4f} | {g['prior_strength']} |")
    return "\n".join(lines) + "\n"


def _find_table(root: Path, table: str) -> Path | None:
    for ext in ("csv", "parquet"):
        p = root / f"{table}.{ext}"
        if p.exists():
            return p
    return None


def _write_contacts(src: Path, dst_dir: Path, pf: Portfolio, rate: np.ndarray) -> Path:
    """The contacts file with rpc_rate replaced for every accepted row; every other column and
    every rejected row as read."""
    fitted = pd.Series(np.round(rate, 6), index=pd.Index(pf.contacts["contact_id"]))
    fitted = fitted[~fitted.index.duplicated()]
    if src.suffix == ".parquet":
        frame = pd.read_parquet(src)
        ids = frame["contact_id"].astype(str)
        got = ids.map(fitted)
        rows = pf.contacts["row"].to_numpy() - 1
        accepted = np.zeros(len(frame), dtype=bool)
        accepted[rows] = True
        old = pd.to_numeric(frame["rpc_rate"], errors="coerce") if "rpc_rate" in frame else pd.Series(np.nan, index=frame.index)
        frame["rpc_rate"] = np.where(accepted, got.to_numpy(dtype=np.float64), old.to_numpy(dtype=np.float64))
        dst = dst_dir / "contacts.parquet"
        frame.to_parquet(dst, index=False)
        return dst
    frame = pd.read_csv(src, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig")
    if "rpc_rate" not in frame.columns:
        frame["rpc_rate"] = ""
    text = frame["rpc_rate"].to_numpy(dtype=object).copy()
    rows = pf.contacts["row"].to_numpy() - 1
    text[rows] = np.round(rate, 6).astype(str)
    frame["rpc_rate"] = text
    dst = dst_dir / "contacts.csv"
    with dst.open("w", encoding="utf-8", newline="") as fh:
        frame.to_csv(fh, index=False, lineterminator="\n")
    return dst


def fit_to_dir(
    portfolio_dir: str | Path,
    out: str | Path | None = None,
    policy: str | None = None,
    max_reject: float = 0.01,
    holdout_days: int = 7,
) -> FitResult:
    """Fit the portfolio's history and write a fitted portfolio directory ``out`` (default
    ``<PORTFOLIO>-fitted``): every file of the portfolio copied, contacts with rpc_rate
    filled in, curves.csv from the fit, fit_report.json and fit_report.md. Written into a
    temporary sibling and moved into place."""
    root = Path(portfolio_dir)
    out = Path(out) if out is not None else root.parent / f"{root.name}-fitted"
    if root.exists() and out.exists() and out.resolve() == root.resolve():
        raise InputError(f"{out}: --out must not be the portfolio itself")
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / REPORT_JSON).exists())):
        raise InputError(f"{out}: exists and is not a fitted portfolio (no {REPORT_JSON}); not replacing it")
    if holdout_days < 0:
        raise InputError("--holdout-days must be >= 0")
    pf = read_portfolio(root, policy=policy, max_reject=max_reject)
    if not len(pf.history):
        log.warning("no usable history: rates stay at their group defaults, curves at 1")
    model, contacts, report = fit_portfolio(pf, holdout_days=holdout_days)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    try:
        tmp = new_stage(out)
        contacts_src = _find_table(root, "contacts")
        for item in sorted(root.iterdir()):
            if not item.is_file() or item.name.startswith("."):
                continue
            if item.stem in ("contacts", "curves") and item.suffix in (".csv", ".parquet"):
                continue
            if item.name in (REPORT_JSON, REPORT_MD):
                continue
            shutil.copy2(item, tmp / item.name)
        written = [_write_contacts(contacts_src, tmp, pf, model.rate)]
        curves = pd.DataFrame(report["curves"], columns=["phone_type", "hour", "weight", "attempts", "successes"])
        with (tmp / "curves.csv").open("w", encoding="utf-8", newline="") as fh:
            curves[["phone_type", "hour", "weight"]].to_csv(fh, index=False, lineterminator="\n")
        written.append(tmp / "curves.csv")
        report["portfolio"] = str(root)
        (tmp / REPORT_JSON).write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        (tmp / REPORT_MD).write_text(render_markdown(report), encoding="utf-8")
        for p in tmp.iterdir():
            fsync_path(p)
        fsync_path(tmp)
        publish(tmp, out)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise FitError(f"{out}: cannot write the fitted portfolio ({exc.strerror or exc.__class__.__name__})") from None
    except DialplanError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return FitResult(out, model, report)
