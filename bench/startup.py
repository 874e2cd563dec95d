"""Start-up cost of wxbudget, as ratios against baselines measured alternately in one run.

    python bench/startup.py [--runs N]

Pairs (targets in brackets):
  wxbudget --version  /  a minimal three-command Typer app --version   [<= 1.2]
  wxbudget --help     /  the same minimal app --help                   [<= 1.2]
  wxbudget show (against a running sandbox)  /
      python -c "import typer, rich.table, requests, cryptography...rsa"   [<= 1.3]
  --help zh, show zh: the same two pairs with Chinese selected (LANG=zh_CN.UTF-8)   [same]
  zh/en help, zh/en show: set-max --help and show in Chinese / in English   [<= 1.05]
Each side runs N times, alternately; a ratio is the median of the N ratios of a run to the
baseline run right after it (the ms columns are each side's median).
The verdict is on wall time. The cpu column is the same ratio of the processes' own CPU time
(user + system): on a loaded machine it shows whether an OVER is wxbudget's work or waiting.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MINIMAL_APP = '''
import typer

app = typer.Typer(no_args_is_help=True)


def version(value: bool) -> None:
    if value:
        typer.echo("minimal 1.0")
        raise typer.Exit()


@app.callback()
def root(v: bool = typer.Option(False, "--version", callback=version, is_eager=True)) -> None:
    """A minimal app."""


@app.command()
def one(name: str) -> None:
    """First."""


@app.command()
def two(name: str) -> None:
    """Second."""


@app.command()
def three(name: str) -> None:
    """Third."""


app()
'''

IMPORT_BASELINE = (
    "import typer, rich.table, requests, cryptography.hazmat.primitives.asymmetric.rsa"
)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall time and the child's CPU time (user + system) of one run."""
    cpu = _children_cpu()
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - start, _children_cpu() - cpu


def ratio(
    ours: list[str],
    baseline: list[str],
    runs: int,
    env: dict[str, str],
    base_env: dict[str, str],
) -> tuple[float, float, float, float]:
    """The wall-time ratio, our and the baseline's median wall times, and the CPU-time ratio."""
    timed(ours, env)  # warm the page cache for both sides
    timed(baseline, base_env)
    ours_runs: list[tuple[float, float]] = []
    base_runs: list[tuple[float, float]] = []
    for _ in range(runs):
        ours_runs.append(timed(ours, env))
        base_runs.append(timed(baseline, base_env))
    ours_median = statistics.median(wall for wall, _cpu in ours_runs)
    base_median = statistics.median(wall for wall, _cpu in base_runs)
    # Each run against the baseline run right after it: a load that comes and goes over the
    # minutes of a bench hits both of a pair alike, where it would shift one side's median.
    wall_ratio = statistics.median(
        ours[0] / base[0] for ours, base in zip(ours_runs, base_runs, strict=True)
    )
    cpu_ratio = statistics.median(
        ours[1] / base[1] for ours, base in zip(ours_runs, base_runs, strict=True)
    )
    return wall_ratio, ours_median, base_median, cpu_ratio


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=31)
    args = parser.parse_args()
    wxbudget = str(Path(sys.executable).parent / "wxbudget")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        app_file = folder / "minimal.py"
        app_file.write_text(MINIMAL_APP)
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("WXBUDGET_") and k not in ("LC_ALL", "LC_MESSAGES", "LANGUAGE")
        }
        env |= {
            "LANG": "C.UTF-8",
            "HOME": scratch,
            "XDG_CONFIG_HOME": f"{scratch}/c",
            "XDG_DATA_HOME": f"{scratch}/d",
            "XDG_STATE_HOME": f"{scratch}/s",
            "NO_COLOR": "1",
        }
        server = subprocess.Popen(
            [
                wxbudget,
                "sandbox",
                "serve",
                "--home",
                str(folder / "sandbox"),
                "--port",
                "0",
                "--rate-limit",
                "0",
            ],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None
            line = server.stdout.readline()
            if not line.startswith("listening on "):
                sys.exit(f"sandbox did not start: {line!r}")
            config = str(folder / "sandbox" / "config.toml")
            show = [wxbudget, "show", "1000000013", "1000000013001", "--config", config]
            chinese = env | {"LANG": "zh_CN.UTF-8"}
            # name, ours, baseline, target, our environment, the baseline's environment
            pairs: list[tuple[str, list[str], list[str], float, dict[str, str], dict[str, str]]] = [
                (
                    "--version",
                    [wxbudget, "--version"],
                    [sys.executable, str(app_file), "--version"],
                    1.2,
                    env,
                    env,
                ),
                (
                    "--help",
                    [wxbudget, "--help"],
                    [sys.executable, str(app_file), "--help"],
                    1.2,
                    env,
                    env,
                ),
                ("show", show, [sys.executable, "-c", IMPORT_BASELINE], 1.3, env, env),
                (
                    "--help zh",
                    [wxbudget, "--help"],
                    [sys.executable, str(app_file), "--help"],
                    1.2,
                    chinese,
                    chinese,
                ),
                ("show zh", show, [sys.executable, "-c", IMPORT_BASELINE], 1.3, chinese, chinese),
                # Chinese against English directly: the catalog's own cost, without a baseline.
                (
                    "zh/en help",
                    [wxbudget, "set-max", "--help"],
                    [wxbudget, "set-max", "--help"],
                    1.05,
                    chinese,
                    env,
                ),
                ("zh/en show", show, show, 1.05, chinese, env),
            ]
            print(
                f"{'pair':<10} {'ratio':>6} {'target':>7} {'ours ms':>8} {'base ms':>8}"
                f" {'cpu':>5}  (median of {args.runs})"
            )
            for name, ours, baseline, target, ours_env, base_env in pairs:
                value, ours_s, base_s, cpu = ratio(ours, baseline, args.runs, ours_env, base_env)
                verdict = "ok" if value <= target else "OVER"
                print(
                    f"{name:<10} {value:>6.2f} {target:>7.2f} {ours_s * 1000:>8.0f}"
                    f" {base_s * 1000:>8.0f} {cpu:>5.2f}  {verdict}"
                )
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
