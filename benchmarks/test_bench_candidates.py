"""Reading a portfolio and building the candidates (every legal single attempt) at 100k and
1M cases, cn and us. Each measurement runs in a fresh process (see conftest.py); figures in
``benchmark.extra_info``: wall time of read and of build_candidates, peak RSS, sizes.

    python -m pytest benchmarks/test_bench_candidates.py -o addopts="" --benchmark-enable
    DIALPLAN_SLOW=1 python -m pytest benchmarks/test_bench_candidates.py -o addopts="" --benchmark-enable -k 1m
"""

from __future__ import annotations

import pytest

from conftest import slow

SEATS = {100_000: 500, 1_000_000: 2000}


def _bench(benchmark, portfolio, measure, machine_info, accounts: int, flavor: str) -> dict:
    seats = SEATS[accounts]
    root = portfolio(accounts, seats, flavor)
    fig = benchmark.pedantic(measure, args=("candidates", root), rounds=1, iterations=1)
    benchmark.extra_info.update(
        {
            "bench": "candidates",
            "size": accounts,
            "seats": seats,
            "flavor": flavor,
            "solver": "",
            **{k: v for k, v in fig.items()},
            "machine": machine_info,
        }
    )
    assert fig["accounts"] == accounts
    assert fig["callable_contacts"] > 0 and fig["legal_pairs"] > 0
    return fig


@pytest.mark.parametrize("flavor", ["cn", "us"])
def test_bench_candidates_100k(benchmark, portfolio, measure, machine_info, flavor):
    _bench(benchmark, portfolio, measure, machine_info, 100_000, flavor)


@pytest.mark.slow
@slow
@pytest.mark.parametrize("flavor", ["cn", "us"])
def test_bench_candidates_1m(benchmark, portfolio, measure, machine_info, flavor):
    _bench(benchmark, portfolio, measure, machine_info, 1_000_000, flavor)
