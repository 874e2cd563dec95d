"""Batch throughput against the rate limit, under faults, and the memory of big plans.

    python bench/batch.py [--rows 400] [--memory-rows 10000 100000] [--only throughput|memory]

Prints, for a sandbox at --rate-limit 20 and a plan raising every total cap of 400 stocks over
4 coupons:
  clean   achieved updates/s divided by 20 (target >= 0.9), rows failed (0), double applies (0)
  faults  the same with --fault 500=0.05 --fault 429=0.05 --fault drop=0.05 (target >= 0.75)
and the peak memory of `apply --dry-run` in two plan layouts at 10,000 and 100,000 rows (see
`memory`): at most 1.5 times as much for ten times the rows, and at most 80 MiB at 10,000.
Ratios are against the rate limit measured in the same run, not wall-clock thresholds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

RATE_LIMIT = 20
WXBUDGET = str(Path(sys.executable).parent / "wxbudget")


def seed_file(path: Path, coupons: int, per_coupon: int) -> list[tuple[str, str]]:
    stocks: list[dict[str, Any]] = []
    for c in range(coupons):
        coupon = f"{4000000001 + c}"
        for s in range(1, per_coupon + 1):
            stocks.append(
                {
                    "product_coupon_id": coupon,
                    "stock_id": f"{coupon}{s:05d}",
                    "brand_id": "120344",
                    "coupon_code_mode": "WECHATPAY",
                    "stock_send_rule": {"max_count": 10000, "max_count_per_day": 1000},
                    "sent_count_info": {"total_count": 0, "today_count": 0},
                    "state": "SENDING",
                }
            )
    path.write_text(json.dumps(stocks))
    return [(str(s["product_coupon_id"]), str(s["stock_id"])) for s in stocks]


def plan_file(path: Path, ids: list[tuple[str, str]]) -> None:
    lines = ["product_coupon_id,stock_id,max_count,max_count_per_day"]
    lines += [f"{coupon},{stock},+100," for coupon, stock in ids]
    path.write_text("\n".join(lines) + "\n")


def start_sandbox(
    home: Path, seed: Path, env: dict[str, str], *faults: str, rate_limit: int = RATE_LIMIT
) -> subprocess.Popen[str]:
    command = [
        WXBUDGET,
        "sandbox",
        "serve",
        "--home",
        str(home),
        "--port",
        "0",
        "--seed",
        str(seed),
        "--rate-limit",
        str(rate_limit),
        "--fault-seed",
        "7",
    ]
    for fault in faults:
        command += ["--fault", fault]
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert server.stdout is not None
    line = server.stdout.readline()
    if not line.startswith("listening on "):
        sys.exit(f"sandbox did not start: {line!r}")
    return server


def double_applies(home: Path) -> tuple[int, Counter[str]]:
    applied: Counter[str] = Counter()
    faults: Counter[str] = Counter()
    for line in (home / "requests.jsonl").read_text().splitlines():
        entry = json.loads(line)
        if entry["method"] == "POST" and entry["applied"]:
            applied[entry["out_request_no"]] += 1
        if entry.get("fault"):
            faults[entry["fault"]] += 1
    return sum(1 for count in applied.values() if count > 1), faults


def throughput(scratch: Path, name: str, rows: int, env: dict[str, str], *faults: str) -> None:
    seed = scratch / f"{name}-seed.json"
    ids = seed_file(seed, 4, rows // 4)
    plan = scratch / f"{name}-plan.csv"
    plan_file(plan, ids)
    home = scratch / f"{name}-sandbox"
    # Each run gets its own state folder: the same plan must not look "done" from the last run.
    env = env | {"XDG_STATE_HOME": str(scratch / f"{name}-state")}
    server = start_sandbox(home, seed, env, *faults)
    try:
        start = time.perf_counter()
        result = subprocess.run(
            [
                WXBUDGET,
                "apply",
                str(plan),
                "--yes",
                "--concurrency",
                "8",
                "-o",
                "json",
                "--config",
                str(home / "config.toml"),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - start
    finally:
        server.terminate()
        server.wait(timeout=10)
    steps = json.loads(result.stdout) if result.stdout.strip() else []
    failed = sum(1 for step in steps if step["outcome"] != "applied")
    doubles, injected = double_applies(home)
    ratio = len(ids) / elapsed / RATE_LIMIT
    target = 0.75 if faults else 0.9
    print(
        f"{name:<7} rows {len(ids)}  {elapsed:6.1f} s  {len(ids) / elapsed:5.1f}/s  "
        f"ratio {ratio:.2f} (target >= {target})  failed {failed}  double applies {doubles}  "
        f"exit {result.returncode}" + (f"  faults {dict(injected)}" if injected else "")
    )


PROBE = (
    "import resource, subprocess, sys, time\n"
    "start = time.perf_counter()\n"
    "done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n"
    "elapsed = time.perf_counter() - start\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
    "print(f'{peak:.1f} {elapsed:.2f} {done.returncode}')\n"
)


# Both ways an operator previews a plan: the table (the default) and JSON.
OUTPUTS = ("table", "json")


def dry_run_peak(
    plan: Path, config: Path, env: dict[str, str], output: str
) -> tuple[float, float, int]:
    """Peak RSS (MiB), seconds and exit code of `apply PLAN --dry-run -o OUTPUT`."""
    command = [WXBUDGET, "apply", str(plan), "--dry-run", "-o", output, "--config", str(config)]
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *command], env=env, capture_output=True, text=True, check=True
    )
    peak, elapsed, code = result.stdout.split()
    return float(peak), float(elapsed), int(code)


def set_profile_rate_limit(config: Path, rate_limit: int) -> None:
    import tomllib

    import tomli_w

    document = tomllib.loads(config.read_text())
    document["profiles"]["sandbox"]["rate_limit"] = rate_limit
    config.write_text(tomli_w.dumps(document))


def memory(scratch: Path, env: dict[str, str], sizes: list[int]) -> None:
    """Peak memory of `apply --dry-run` in both layouts at each size (issue 10, section 6).

    - "wide": bench's layout, 200 rows per coupon, a sandbox holding only the plan's stocks,
      rate limit 20 (sandbox and client): reads are slow, the list endpoint is used.
    - "narrow": 20 rows per coupon, rate limit off, one sandbox holding more stocks than the
      biggest plan (110% of it): reads are as fast as the machine allows.
    Targets: the biggest plan's peak at most 1.5 times the smallest's in each layout, and no
    10,000-row plan above 80 MiB.
    """
    biggest = max(sizes)
    results: dict[tuple[str, int, str], float] = {}
    for size in sizes:
        seed = scratch / f"wide-{size}-seed.json"
        ids = seed_file(seed, max(size // 200, 1), min(size, 200))
        plan = scratch / f"wide-{size}.csv"
        plan_file(plan, ids)
        home = scratch / f"wide-{size}-sandbox"
        server = start_sandbox(home, seed, env, rate_limit=RATE_LIMIT)
        try:
            for output in OUTPUTS:
                peak, elapsed, code = dry_run_peak(plan, home / "config.toml", env, output)
                results[("wide", size, output)] = peak
                print(
                    f"memory  wide   rows {size:>7}  -o {output:<5}  peak {peak:6.1f} MiB  "
                    f"{elapsed:7.1f} s  exit {code}"
                )
        finally:
            server.terminate()
            server.wait(timeout=60)
    seed = scratch / "narrow-seed.json"
    account = seed_file(seed, biggest * 11 // 10 // 20, 20)
    home = scratch / "narrow-sandbox"
    server = start_sandbox(home, seed, env, rate_limit=0)
    try:
        set_profile_rate_limit(home / "config.toml", 0)
        for size in sizes:
            plan = scratch / f"narrow-{size}.csv"
            plan_file(plan, account[:size])
            for output in OUTPUTS:
                peak, elapsed, code = dry_run_peak(plan, home / "config.toml", env, output)
                results[("narrow", size, output)] = peak
                print(
                    f"memory  narrow rows {size:>7}  -o {output:<5}  peak {peak:6.1f} MiB  "
                    f"{elapsed:7.1f} s  exit {code}  (account of {len(account)} stocks)"
                )
    finally:
        server.terminate()
        server.wait(timeout=60)
    smallest = min(sizes)
    for layout in ("wide", "narrow"):
        for output in OUTPUTS:
            small, big = results[(layout, smallest, output)], results[(layout, biggest, output)]
            print(
                f"memory  {layout:<6} -o {output:<5} {biggest:,} / {smallest:,} rows: ratio "
                f"{big / small:.2f} (target <= 1.5); {smallest:,} rows: {small:.1f} MiB "
                "(target <= 80)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=400)
    parser.add_argument(
        "--memory-rows",
        type=int,
        nargs="+",
        default=[10_000, 100_000],
        help="plan sizes for the memory runs (default: 10000 100000)",
    )
    parser.add_argument("--only", choices=["throughput", "memory"], help="run one part only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        env = {k: v for k, v in os.environ.items() if not k.startswith("WXBUDGET_")}
        env |= {
            "HOME": folder,
            "XDG_CONFIG_HOME": f"{folder}/c",
            "XDG_DATA_HOME": f"{folder}/d",
            "XDG_STATE_HOME": f"{folder}/s",
            "NO_COLOR": "1",
        }
        if args.only != "memory":
            throughput(scratch, "clean", args.rows, env)
            throughput(scratch, "faults", args.rows, env, "500=0.05", "429=0.05", "drop=0.05")
        if args.only != "throughput":
            memory(scratch, env, args.memory_rows)


if __name__ == "__main__":
    main()
