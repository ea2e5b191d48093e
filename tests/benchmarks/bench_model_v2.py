"""Model v2 against model v1 (issue 17, point 3): ``backtest()`` AUC and top-decile lift
of both on the churn simulation (unchanged, and with churners fading out) and on real
purchases, the CDNOW data set, when it is at hand (docs/backtesting.md, "Model v2
against model v1").

    .venv/bin/python -m tests.benchmarks.bench_model_v2
    .venv/bin/python -m tests.benchmarks.bench_model_v2 --cdnow path/to/CDNOW_master.txt

CDNOW_master.txt (23,570 customers, 69,659 purchases, 1997-01 to 1998-06) ships in the
``lifetimes`` package (``pip install lifetimes``, or ``pip download lifetimes`` and
unzip ``lifetimes/datasets/CDNOW_master.txt``); without it the CDNOW rows are skipped.
"""

from __future__ import annotations

import argparse
import importlib.util
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from customer_health import Scorer, backtest, sample


def simulation(fading: float) -> tuple[Any, ...]:
    sim = sample.simulate_churn(2000, months=12, seed=1, fading=fading)
    return sim.customers, sim.events, sim.outcomes, sim.as_of_dates, sim.end, 30


def cdnow(path: Path, invoices: bool) -> tuple[Any, ...]:
    """Each purchase a login and an api_call of as many calls as CDs (and, with
    ``invoices``, a payment paid when due); every customer smb; churn just after the
    last purchase; as_of the first of each month from 1997-04 to 1998-03; 90 days."""
    rows = []
    with path.open(encoding="utf-8") as lines:
        next(lines)
        for line in lines:
            customer, day, cds, dollars = line.split()
            when = datetime.strptime(day, "%Y%m%d").replace(hour=12, tzinfo=UTC)
            rows.append((customer, when, int(cds), float(dollars)))
    bought = pl.DataFrame(
        rows, schema=["customer_id", "occurred_at", "cds", "dollars"], orient="row"
    )
    spans = bought.group_by("customer_id").agg(
        first=pl.col("occurred_at").min(), last=pl.col("occurred_at").max()
    )
    customers = spans.select(
        id="customer_id", segment=pl.lit("smb"), created_at=pl.col("first") - timedelta(hours=1)
    )
    outcomes = spans.select("customer_id", churned_at=pl.col("last") + timedelta(hours=1))
    parts = [
        bought.select("customer_id", kind=pl.lit("login"), occurred_at="occurred_at"),
        bought.select(
            "customer_id", kind=pl.lit("api_call"), occurred_at="occurred_at", quantity="cds"
        ),
    ]
    if invoices:
        parts.append(
            bought.select(
                "customer_id",
                kind=pl.lit("payment"),
                occurred_at="occurred_at",
                due_at="occurred_at",
                paid_at="occurred_at",
                amount="dollars",
            )
        )
    events = pl.concat(parts, how="diagonal_relaxed")
    months = [(1997, m) for m in range(4, 13)] + [(1998, m) for m in range(1, 4)]
    as_of = [datetime(year, month, 1, tzinfo=UTC) for year, month in months]
    return customers, events, outcomes, as_of, datetime(1998, 6, 30, 23, tzinfo=UTC), 90


def _cdnow_path(given: Path | None) -> Path | None:
    if given is not None:
        return given
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or spec.origin is None:
        return None
    found = Path(spec.origin).parent / "datasets" / "CDNOW_master.txt"
    return found if found.exists() else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cdnow", type=Path, help="CDNOW_master.txt (default: lifetimes')")
    args = parser.parse_args()
    sets: dict[str, Any] = {
        "simulation, unchanged": lambda: simulation(0.0),
        "simulation, fading=0.5": lambda: simulation(0.5),
        "simulation, fading=1": lambda: simulation(1.0),
    }
    path = _cdnow_path(args.cdnow)
    if path is None:
        print("CDNOW: not found (pip install lifetimes, or --cdnow FILE); its rows skipped")
    else:
        sets["CDNOW purchases as use"] = lambda: cdnow(path, invoices=False)
        sets["CDNOW purchases as use and invoices"] = lambda: cdnow(path, invoices=True)
    print(f"{'data':38} {'v1 AUC, lift':>14} {'v2 AUC, lift':>14}  v2 - v1")
    for label, make in sets.items():
        customers, events, outcomes, as_of, end, horizon = make()
        found = {}
        for model in ("v1", "v2"):
            found[model] = backtest(
                customers,
                events,
                outcomes,
                as_of=as_of,
                horizon=horizon,
                observed_until=end,
                scorer=Scorer(model=model),
            )
        v1, v2 = found["v1"], found["v2"]
        assert v1.auc is not None
        assert v2.auc is not None
        print(
            f"{label:38} {v1.auc:8.3f}, {v1.top_decile_lift or 0:4.2f} "
            f"{v2.auc:8.3f}, {v2.top_decile_lift or 0:4.2f}  {v2.auc - v1.auc:+.3f}"
        )


if __name__ == "__main__":
    main()
