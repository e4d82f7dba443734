"""The ``dialplan`` command line. Every command is a thin wrapper over one library call."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from pathlib import Path

import click

from .errors import DialplanError


class CliError(click.ClickException):
    """A one-line error; exit code from the library's exception (2 unless it says otherwise)."""

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.exit_code = code


def _run(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except DialplanError as exc:
        raise CliError(str(exc), exc.exit_code) from None


def _date(_ctx, _param, value):
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dialplan")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="warning", show_default=True)
def cli(log_level):
    """Plan tomorrow's outbound collection calls: which number of which case each seat dials
    in which slot, within the law and the client bank's rules, for the most expected recovery.

    \b
    Example:
      dialplan plan examples/portfolio --date 2026-11-30 --out plan
    """
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


@cli.command("plan")
@click.argument("portfolio", type=click.Path(path_type=Path))
@click.option("--date", "date", callback=_date, required=True, help="Plan date D (YYYY-MM-DD) in the policy zone.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("plan"), show_default=True, help="Plan directory to write.")
@click.option("--policy", default=None, help="Policy pack name or policy.toml path (overrides the portfolio's).")
@click.option("--solver", type=click.Choice(["cpsat", "greedy", "hopper"]), default="cpsat", show_default=True)
@click.option("--time-limit", type=float, default=60.0, show_default=True, help="Seconds for the whole solve.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--max-reject", type=click.FloatRange(0, 1), default=0.01, show_default=True, help="Largest share of any file's rows that may be rejected.")
@click.option("--no-verify", is_flag=True, help="Skip the independent verifier before publishing.")
@click.option("--quiet", is_flag=True, help="Print nothing on success (for cron).")
@click.option("--fit", "fit", is_flag=True, help="Fit rpc_rate and curves from history first (as `dialplan fit`) and plan the fitted portfolio.")
@click.option("--fit-out", type=click.Path(path_type=Path), default=None, help="Where --fit writes the fitted portfolio (default: PORTFOLIO-fitted).")
def plan_cmd(portfolio, date, out, policy, solver, time_limit, seed, max_reject, no_verify, quiet, fit, fit_out):
    """Plan date D for PORTFOLIO and write the plan directory.

    \b
    Example:
      dialplan plan examples/portfolio --date 2026-11-30 --out plan
      dialplan plan examples/portfolio --date 2026-11-30 --out plan --fit --solver greedy
    """
    from .pipeline import run_plan

    progress, status = None, None
    if not quiet and sys.stderr.isatty():
        # on a terminal: the phase, the seed plan's figures and the bound as they come
        from rich.console import Console

        status = Console(stderr=True).status("planning")
        status.start()
        progress = status.update
    try:
        result = _run(
            run_plan, portfolio, date, out, policy=policy, solver=solver, time_limit=time_limit,
            seed=seed, max_reject=max_reject, verify=not no_verify, fit=fit, fit_out=fit_out, progress=progress,
        )
    finally:
        if status is not None:
            status.stop()
    if not quiet:
        s = result.summary
        ob = s["obligations"]
        bound = f"{s['upper_bound']:,.2f} (gap {s['gap']:.3%})" if s["upper_bound"] is not None else "n/a"
        if "fit" in s:
            click.echo(f"fitted {portfolio} -> {s['fit']['portfolio']}")
        click.echo(f"plan {s['date']} -> {out}")
        click.echo(f"  solver          {s['solver']['name']} ({s['solver']['status']}, {s['solver']['seconds']:.1f} s)")
        click.echo(f"  attempts        {s['attempts']:,} of capacity {s['capacity']:,} ({s['utilization']:.1%})")
        click.echo(f"  cases planned   {s['accounts']['planned']:,} of {s['accounts']['input']:,} (rejected {s['accounts']['rejected']:,})")
        click.echo(f"  obligations     {ob['met']:,} met of {ob['due']:,} due")
        click.echo(f"  expected        {s['expected_recovery']:,.2f}")
        click.echo(f"  upper bound     {bound}")
        if result.verify_report is not None:
            click.echo("  verify          0 violations")


@cli.command("fit")
@click.argument("portfolio", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Fitted portfolio directory to write (default: PORTFOLIO-fitted).")
@click.option("--holdout-days", type=click.IntRange(0), default=7, show_default=True, help="Score a fit of the older history on its last N days (0: no holdout).")
@click.option("--policy", default=None, help="Policy pack name or policy.toml path (overrides the portfolio's).")
@click.option("--max-reject", type=click.FloatRange(0, 1), default=0.01, show_default=True, help="Largest share of any file's rows that may be rejected.")
def fit_cmd(portfolio, out, holdout_days, policy, max_reject):
    """Estimate each number's rpc_rate and the hourly curves by phone type from history.

    Writes a copy of PORTFOLIO with contacts' rpc_rate filled in, a fitted curves.csv and
    fit_report.json / fit_report.md (holdout log-loss and Brier score against the flat
    defaults and unsmoothed frequencies); the copy can be planned directly.

    \b
    Example:
      dialplan fit examples/portfolio --out /tmp/fitted --holdout-days 7
    """
    from .fit import fit_to_dir

    result = _run(fit_to_dir, portfolio, out, policy=policy, max_reject=max_reject, holdout_days=holdout_days)
    r = result.report
    click.echo(f"fit {portfolio} -> {result.out}")
    click.echo(f"  history         {r['rows_used']:,} attempts used, {r['successes']:,} successes, "
               f"{r['rows_excluded_invalid_number']:,} invalid_number left out")
    click.echo(f"  contacts        {r['contacts']:,} ({r['contacts_with_history']:,} with history); "
               f"rpc_rate mean {r['rpc_rate']['mean'] or 0:.4f}")
    hv = r["holdout"]
    if "models" in hv:
        click.echo(f"  holdout         last {hv['days']} days, {hv['holdout_rows']:,} attempts ({hv['from']} .. {hv['to']})")
        for name, sc in hv["models"].items():
            click.echo(f"    {name:<12}  log-loss {sc['log_loss']:.4f}  Brier {sc['brier']:.4f}")
    else:
        click.echo(f"  holdout         skipped: {hv.get('skipped')}")
    click.echo(f"  report          {result.out / 'fit_report.md'}")


@cli.command("verify")
@click.argument("portfolio", type=click.Path(path_type=Path))
@click.argument("plan", type=click.Path(path_type=Path))
@click.option("--date", "date", callback=_date, default=None, help="Plan date (default: summary.json date).")
@click.option("--policy", default=None, help="Policy pack or file (as given to plan).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify_cmd(portfolio, plan, date, policy, as_json):
    """Check PLAN against every rule for PORTFOLIO; exit 0 if compliant, 1 if not.

    \b
    Example:
      dialplan verify examples/portfolio plan
    """
    from .verify import verify_plan

    report = _run(verify_plan, portfolio, plan, date=date, policy=policy)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, sort_keys=True, default=str))
    else:
        click.echo(report.render())
    sys.exit(0 if report.ok else 1)


@cli.command("synth")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--accounts", type=click.IntRange(1), default=2000, show_default=True)
@click.option("--seats", type=click.IntRange(1), default=20, show_default=True)
@click.option("--flavor", type=click.Choice(["cn", "us"]), default="cn", show_default=True)
@click.option("--date", "date", callback=_date, required=True, help="The plan date the book is made for.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default="csv", show_default=True)
def synth_cmd(out, accounts, seats, flavor, date, seed, fmt):
    """Write a realistic synthetic portfolio to OUT.

    \b
    Example:
      dialplan synth /tmp/book --accounts 10000 --seats 50 --flavor us --date 2026-11-30
    """
    from .synth import synth_portfolio

    counts = _run(synth_portfolio, out, accounts=accounts, seats=seats, flavor=flavor, date=date, seed=seed, fmt=fmt)
    click.echo(f"wrote {out}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))


@cli.command("whatif")
@click.argument("portfolio", type=click.Path(path_type=Path))
@click.option("--date", "date", callback=_date, required=True, help="Plan date D (YYYY-MM-DD) in the policy zone.")
@click.option("--scenario", "scenarios", multiple=True, required=True, type=click.Path(path_type=Path),
              help="Scenario TOML file (repeat for several).")
@click.option("--out", type=click.Path(path_type=Path), default=Path("whatif"), show_default=True,
              help="Directory for plans/<name>/, comparison.csv and report.html.")
@click.option("--policy", default=None, help="Base policy pack or file (overrides the portfolio's).")
@click.option("--solver", type=click.Choice(["cpsat", "greedy", "hopper"]), default="cpsat", show_default=True)
@click.option("--time-limit", type=float, default=60.0, show_default=True, help="Seconds for each plan.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--max-reject", type=click.FloatRange(0, 1), default=0.01, show_default=True)
@click.option("--jobs", type=click.IntRange(1), default=None, help="Plans run at once (default: the number of cores).")
def whatif_cmd(portfolio, date, scenarios, out, policy, solver, time_limit, seed, max_reject, jobs):
    """Plan the base and each scenario (changed policy, seats or cases) and compare them.

    \b
    Example:
      dialplan whatif examples/portfolio --date 2026-11-30 --scenario examples/scenarios/evening-seats.toml --scenario examples/scenarios/window-21.toml --scenario examples/scenarios/third-party-once.toml --solver greedy --out whatif
    """
    from .whatif import render_comparison, run_whatif

    progress = None
    bar = None
    if sys.stderr.isatty():
        from rich.progress import Progress

        bar = Progress(transient=True)
        task = bar.add_task("planning", total=len(scenarios) + 1)
        bar.start()

        def progress(name):
            bar.update(task, advance=1, description=f"planned {name}")
    try:
        result = _run(run_whatif, portfolio, date, list(scenarios), out, policy=policy, solver=solver,
                      time_limit=time_limit, seed=seed, max_reject=max_reject, jobs=jobs, progress=progress)
    finally:
        if bar is not None:
            bar.stop()
    click.echo(render_comparison(result.names, result.summaries))
    click.echo(f"wrote {result.csv}, {result.report} and plans in {result.out / 'plans'}")


@cli.command("report")
@click.argument("plan", type=click.Path(path_type=Path))
@click.option("--compare", "compare", multiple=True, type=click.Path(path_type=Path), help="Another plan directory to set beside PLAN (repeatable).")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="HTML file to write (default: PLAN/report.html).")
def report_cmd(plan, compare, out):
    """Write one self-contained HTML report of PLAN with charts (phone numbers masked).

    \b
    Example:
      dialplan report plan --out report.html
    """
    from .report import write_report

    path = _run(write_report, plan, out or Path(plan) / "report.html", compare=list(compare))
    click.echo(f"wrote {path}")


@cli.command("export")
@click.argument("plan", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["vicidial", "genesys"]), required=True)
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Directory to write (default: export-FORMAT).")
@click.option("--list-id", default="1000", show_default=True, help="VICIdial list_id of the leads.")
def export_cmd(plan, fmt, out, list_id):
    """Export PLAN for a dialer: VICIdial lead files (one per seat) or a Genesys Cloud contact list.

    \b
    Example:
      dialplan export plan --format vicidial --out export-vicidial
      dialplan export plan --format genesys --out export-genesys
    """
    from .export import export_plan

    if not str(list_id).isdigit():
        raise CliError(f"--list-id {list_id!r} must be digits")
    out = out or Path(f"export-{fmt}")
    counts = _run(export_plan, plan, fmt, out, list_id=list_id)
    click.echo(f"wrote {out}: {counts['rows']:,} attempts in {counts['files']:,} files")


@cli.group("policy")
def policy_group():
    """Inspect and lint policies.

    \b
    Example:
      dialplan policy check us-regf
    """


@policy_group.command("check")
@click.argument("policy")
def policy_check(policy):
    """Lint POLICY (a pack name or a policy.toml) and report contradictions.

    \b
    Example:
      dialplan policy check us-regf
    """
    from .policy import load_policy
    from .policy.lint import lint

    pol = _run(load_policy, policy)
    findings = lint(pol)
    click.echo(f"{pol.source}: policy '{pol.name}' sha256 {pol.content_hash[:12]}")
    for f in findings:
        click.echo(f"  {f.level}: {f.where}: {f.message}")
    errors = sum(f.level == "error" for f in findings)
    click.echo(f"{errors} errors, {len(findings) - errors} warnings")
    sys.exit(1 if errors else 0)


@policy_group.command("list")
def policy_list():
    """List the built-in policy packs.

    \b
    Example:
      dialplan policy list
    """
    from .policy import load_policy, pack_names

    for name in pack_names():
        click.echo(f"{name}\t{load_policy(name).data.get('description', '')}")


def main():
    cli(prog_name="dialplan")


if __name__ == "__main__":
    main()
