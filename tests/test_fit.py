"""dialplan fit: contact rates and hourly curves from history (issue 7)."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from dialplan.cli import cli
from dialplan.fit import (
    Attempts,
    Contacts,
    attempts_of,
    calling_hours,
    contact_table,
    fit_model,
    fit_portfolio,
    fit_to_dir,
    lgamma,
)
from dialplan.io.portfolio import PHONE_TYPES, read_portfolio
from dialplan.pipeline import run_plan
from dialplan.policy import load_policy
from dialplan.synth import synth_portfolio, true_curves

DATE = dt.date(2026, 11, 30)


@pytest.fixture(scope="module")
def book20k(tmp_path_factory):
    """20,000 cn cases (about 72k history attempts drawn from the known curves), read and fitted."""
    root = tmp_path_factory.mktemp("fit") / "book"
    synth_portfolio(root, 20_000, 20, "cn", DATE, seed=3)
    pf = read_portfolio(root)
    model, contacts, report = fit_portfolio(pf, holdout_days=7)
    return pf, model, contacts, report


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    root = tmp_path_factory.mktemp("fit") / "small"
    synth_portfolio(root, 200, 4, "cn", DATE, seed=1)
    return root


def _normalised_truth(flavor: str, calling: np.ndarray) -> np.ndarray:
    tc = true_curves(flavor)
    out = np.ones((len(PHONE_TYPES), 24))
    for t, name in enumerate(PHONE_TYPES):
        w = tc.loc[tc["phone_type"] == name, "weight"].to_numpy()
        if len(w):
            out[t] = w / w[calling].mean()
    return out


def test_lgamma_matches_the_standard_library():
    x = np.array([1e-3, 0.1, 0.5, 1.0, 2.5, 6.99, 7.0, 12.3, 150.0, 1e6])
    assert np.allclose(lgamma(x), [math.lgamma(v) for v in x], rtol=0, atol=1e-8)


def _simulated(n_rows: int, seed: int = 0):
    """History drawn straight from p = r_k * w[type][h], rates varying by contact."""
    rng = np.random.default_rng(seed)
    n_c = n_rows // 4
    ptype = rng.choice(3, n_c, p=[0.6, 0.25, 0.15])
    rate = rng.beta(3, 17, n_c)  # mean 0.15
    truth = _normalised_truth("us", calling_hours(load_policy("cn-collection-2015")))
    k = rng.integers(0, n_c, n_rows)
    hour = rng.integers(8, 22, n_rows)
    y = rng.random(n_rows) < np.minimum(1, rate[k] * truth[ptype[k], hour])
    contacts = Contacts(ptype.astype(np.int64), np.zeros(n_c, np.int64), np.zeros(n_c, np.int64),
                        [("debtor", "contactable")], np.full(n_c, 0.15), rate, truth)
    att = Attempts(k.astype(np.int64), hour.astype(np.int64), y, np.arange(n_rows, dtype=np.int64))
    return att, contacts, truth, rate


def test_curves_recovered_from_simulated_history():
    """400k attempts from known curves (60k-240k a phone type): every calling-hour weight
    within 0.10 of the truth, 0.03 on average (sampling error of a cell is about 0.04)."""
    att, contacts, truth, _ = _simulated(400_000)
    calling = calling_hours(load_policy("cn-collection-2015"))
    model = fit_model(att, contacts, calling)
    err = np.abs(model.weight[:3] - truth[:3])[:, calling]
    assert err.max() < 0.10 and err.mean() < 0.03, err.round(3)
    assert np.allclose(model.weight[:3, calling].mean(axis=1), 1.0)  # the normalisation


def test_rates_shrink_by_evidence():
    """A number answered 0 of 1 times keeps most of its group's rate; the more attempts, the
    closer each rate gets to the number's own truth."""
    att, contacts, truth, rate = _simulated(200_000, seed=1)
    calling = calling_hours(load_policy("cn-collection-2015"))
    model = fit_model(att, contacts, calling)
    n = np.bincount(att.contact, minlength=len(contacts))
    s = np.bincount(att.contact, weights=att.success, minlength=len(contacts))
    group = model.group_mean[0]
    assert 0.13 < group < 0.17
    zero_of_one = (n == 1) & (s == 0)
    assert zero_of_one.any() and model.rate[zero_of_one].min() > 0.6 * group
    # contacts with 8+ attempts: fitted rates track the true ones better than the group mean does
    many = n >= 8
    assert many.sum() > 100
    assert np.abs(model.rate[many] - rate[many]).mean() < np.abs(group - rate[many]).mean()


def test_synth_curves_recovered_within_tolerance(book20k):
    """On synth data (curves known), mean absolute error of the fitted weights over the calling
    hours: <= 0.04 for mobile (about 62k attempts), <= 0.15 for home and work (4-6k attempts),
    and each curve much closer to the truth than the flat weight 1."""
    pf, model, _contacts, report = book20k
    calling = np.zeros(24, bool)
    calling[report["calling_hours"]] = True
    truth = _normalised_truth("cn", calling)
    for t, name in enumerate(("mobile", "home", "work")):
        mae = np.abs(model.weight[t] - truth[t])[calling].mean()
        flat = np.abs(1.0 - truth[t])[calling].mean()
        assert mae <= (0.04 if name == "mobile" else 0.15), (name, mae)
        assert mae < 0.5 * flat, (name, mae, flat)


def test_synth_probabilities_closer_to_truth_than_flat(book20k):
    pf, model, contacts, _ = book20k
    att = attempts_of(pf, contacts)
    true_p = contacts.given_rate[att.contact] * contacts.given_weight[contacts.ptype[att.contact], att.hour]
    fit_p = model.predict(contacts, att.contact, att.hour)
    flat_p = contacts.default_rate[att.contact]
    assert np.abs(fit_p - true_p).mean() < 0.85 * np.abs(flat_p - true_p).mean()
    assert abs(fit_p.sum() / true_p.sum() - 1) < 0.03


def test_holdout_fitted_beats_flat_and_unsmoothed(book20k):
    _pf, _model, _c, report = book20k
    hv = report["holdout"]
    assert hv["holdout_rows"] > 5000 and hv["train_rows"] > 30000
    m = hv["models"]
    for metric in ("log_loss", "brier"):
        assert m["fitted"][metric] < m["flat"][metric], metric
        assert m["fitted"][metric] < m["unsmoothed"][metric], metric


def test_fit_command_writes_a_plannable_portfolio(small, tmp_path):
    out = tmp_path / "fitted"
    result = CliRunner().invoke(cli, ["fit", str(small), "--out", str(out), "--holdout-days", "7"])
    assert result.exit_code == 0, result.output
    assert "holdout" in result.output and "flat" in result.output
    names = {p.name for p in out.iterdir()}
    assert {"accounts.csv", "contacts.csv", "seats.csv", "history.csv", "callbacks.csv", "policy.toml",
            "curves.csv", "fit_report.json", "fit_report.md"} <= names
    before = pd.read_csv(small / "contacts.csv", dtype=str, keep_default_na=False)
    after = pd.read_csv(out / "contacts.csv", dtype=str, keep_default_na=False)
    assert list(before.columns) == list(after.columns)
    pd.testing.assert_frame_equal(before.drop(columns="rpc_rate"), after.drop(columns="rpc_rate"))
    rate = pd.to_numeric(after["rpc_rate"])
    assert rate.notna().all() and rate.between(0, 1).all()
    assert (small / "history.csv").read_bytes() == (out / "history.csv").read_bytes()
    pf = read_portfolio(out)  # the contract reader accepts what fit wrote
    assert len(pf.rejected) == 0
    assert set(pf.curves["phone_type"]) == {"mobile", "home", "work"}
    report = json.loads((out / "fit_report.json").read_text())
    assert report["holdout"]["days"] == 7 and "fitted" in report["holdout"]["models"]
    text = (out / "fit_report.json").read_text() + (out / "fit_report.md").read_text() + result.output
    for phone in before["phone"].head(50):
        assert phone not in text and phone[1:] not in text


def test_fit_errors_are_one_line(small, tmp_path):
    runner = CliRunner()
    r = runner.invoke(cli, ["fit", str(tmp_path / "missing")])
    assert r.exit_code == 2 and r.output.count("\n") == 1 and "not a portfolio directory" in r.output
    r = runner.invoke(cli, ["fit", str(small), "--out", str(small)])
    assert r.exit_code == 2 and "must not be the portfolio" in r.output
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("x")
    r = runner.invoke(cli, ["fit", str(small), "--out", str(other)])
    assert r.exit_code == 2 and "not a fitted portfolio" in r.output and (other / "keep.txt").exists()
    r = runner.invoke(cli, ["fit", str(small), "--holdout-days", "-1"])
    assert r.exit_code == 2


def test_fit_without_history(small, tmp_path):
    root = tmp_path / "nohist"
    root.mkdir()
    for name in ("accounts.csv", "contacts.csv", "seats.csv", "policy.toml"):
        (root / name).write_bytes((small / name).read_bytes())
    res = fit_to_dir(root, tmp_path / "out", holdout_days=7)
    assert "skipped" in res.report["holdout"]
    assert res.report["curves"] == []
    pf = read_portfolio(tmp_path / "out")
    assert len(pf.curves) == 0
    assert pf.contacts["rpc_rate"].between(0, 1).all()


def test_parquet_portfolio(tmp_path):
    root = tmp_path / "pq"
    synth_portfolio(root, 150, 3, "us", DATE, seed=2, fmt="parquet")
    res = fit_to_dir(root, tmp_path / "out", holdout_days=5)
    assert (tmp_path / "out" / "contacts.parquet").exists() and not (tmp_path / "out" / "contacts.csv").exists()
    assert not (tmp_path / "out" / "curves.parquet").exists()
    pf = read_portfolio(tmp_path / "out")
    assert len(pf.rejected) == 0
    fitted = pd.Series(res.model.rate, index=read_portfolio(root).contacts["contact_id"]).round(6)
    assert np.allclose(pf.contacts.set_index("contact_id")["rpc_rate"].loc[fitted.index], fitted)


def test_plan_with_fit(small, tmp_path):
    out, fitted = tmp_path / "plan", tmp_path / "fitted"
    result = run_plan(small, DATE, out, solver="greedy", time_limit=20, fit=True, fit_out=fitted)
    assert result.summary["fit"]["portfolio"] == str(fitted)
    assert sum(result.verify_report.counts.values()) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert "fitted" in summary["fit"]["holdout"]
    # the plan's probabilities come from the fitted rates, not the inputs
    plan = pd.read_csv(out / "plan.csv", dtype={"contact_id": str})
    rates = read_portfolio(fitted).contacts.set_index("contact_id")["rpc_rate"]
    debtor = plan["role"] == "debtor"
    assert debtor.any()
    assert (plan.loc[debtor, "p_contact"] <= 1.0).all()
    assert not np.allclose(plan.loc[debtor, "p_contact"], read_portfolio(small).contacts.set_index("contact_id")["rpc_rate"].loc[plan.loc[debtor, "contact_id"]].to_numpy())
    assert rates.loc[plan["contact_id"]].notna().all()
