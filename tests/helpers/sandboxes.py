"""Sandboxes for tests: homes prepared once per session and copied, so no test waits for RSA keys.

A sandbox start is dominated by key generation (four RSA-2048 keys, more with platform
certificates); a copy of a prepared home takes milliseconds and serves the same keys.
"""

from __future__ import annotations

import json
import shutil
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from wxbudget.sandbox import RunningSandbox, start_in_background

BRAND = "120344"
# The two readings of every point the official pages leave open (README "The sandbox"): the
# default, lenient where the pages are silent, and `sandbox serve --strict`.
SANDBOX_MODES = ("lenient", "strict")
# End-to-end tests of show, set-max, set-daily, bundle and apply run against both, so the
# client is right whichever way the real API reads those points.
BOTH_MODES = pytest.mark.parametrize("sandbox", SANDBOX_MODES, indirect=True)


def is_strict(request: pytest.FixtureRequest) -> bool:
    """Whether a fixture parametrised with SANDBOX_MODES runs the strict sandbox."""
    return getattr(request, "param", "lenient") == "strict"


class PristineHomes:
    """Sandbox homes holding keys and identities only (no database, no config), made on demand.

    The database is left out on purpose: a copy then starts with the demo stocks, or with
    exactly the seed it is given, as a brand-new home would.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._homes: dict[bool, Path] = {}

    def home(self, *, platform_cert: bool = False) -> Path:
        if platform_cert not in self._homes:
            from wxbudget.sandbox.home import prepare_home

            home = self.root / ("platform" if platform_cert else "plain")
            if platform_cert:
                shutil.copytree(self.home(), home)
            prepare_home(home, platform_cert=platform_cert)
            self._homes[platform_cert] = home
        return self._homes[platform_cert]

    def copy(self, destination: Path, *, platform_cert: bool = False) -> Path:
        """A private copy of a prepared home at `destination` (modes kept: 0700 and 0600)."""
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(self.home(platform_cert=platform_cert), destination)
        return destination


class Sandboxes:
    """Starts sandboxes on copies of the pristine homes; stops every one at the end of a test.

    `start(name)` on a name already started restarts that home (same stocks, keys and
    idempotency records, a new port), as `wxbudget sandbox serve` run again would.
    """

    def __init__(
        self, root: Path, pristine: PristineHomes, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        self.root = root
        self.pristine = pristine
        self.monkeypatch = monkeypatch
        self.running: dict[str, RunningSandbox] = {}

    def start(
        self,
        name: str = "sandbox",
        *,
        use: bool = True,
        platform_cert: bool = False,
        seed: Path | list[dict[str, Any]] | None = None,
        **options: Any,
    ) -> RunningSandbox:
        """Start (or restart) sandbox `name`; `use` points WXBUDGET_CONFIG at its profiles.

        `seed` is a seed file or the stock objects to write into one; `options` go to
        `start_in_background` (rate_limit, faults, fault_seed, fault_delay, fault_limit...).
        """
        home = self.root / name
        self.stop(name)
        if not home.exists():
            self.pristine.copy(home, platform_cert=platform_cert)
        if isinstance(seed, list):
            seed = write_stocks(self.root / f"{name}-seed.json", seed)
        sandbox = start_in_background(home, platform_cert=platform_cert, seed=seed, **options)
        self.running[name] = sandbox
        if use:
            self.monkeypatch.setenv("WXBUDGET_CONFIG", str(sandbox.config_path))
        return sandbox

    def stop(self, name: str) -> None:
        if name in self.running:
            self.running.pop(name).stop()

    def stop_all(self) -> None:
        for name in list(self.running):
            self.stop(name)


def stock_object(
    coupon: str,
    stock: str,
    *,
    max_count: int = 10_000,
    per_day: int | None = 1_000,
    sent: int = 0,
    state: str = "SENDING",
) -> dict[str, Any]:
    """One stock as the API shows it (brand 120344, one coupon per user)."""
    rule: dict[str, int] = {"max_count": max_count, "max_count_per_user": 1}
    if per_day is not None:
        rule["max_count_per_day"] = per_day
    return {
        "product_coupon_id": coupon,
        "stock_id": stock,
        "brand_id": BRAND,
        "coupon_code_mode": "WECHATPAY",
        "stock_send_rule": rule,
        "sent_count_info": {"total_count": sent, "today_count": 0},
        "state": state,
    }


def write_stocks(path: Path, stocks: Iterable[dict[str, Any]]) -> Path:
    path.write_text(json.dumps(list(stocks), ensure_ascii=False), encoding="utf-8")
    return path


def write_seed(path: Path, counts: dict[str, int]) -> list[tuple[str, str]]:
    """Seed `counts[coupon]` stocks per coupon (ids COUPON0001...); returns the (coupon, stock)s."""
    stocks = [
        stock_object(coupon, f"{coupon}{index:04d}")
        for coupon, count in counts.items()
        for index in range(1, count + 1)
    ]
    write_stocks(path, stocks)
    return [(s["product_coupon_id"], s["stock_id"]) for s in stocks]


def sandbox_profile_copy(
    sandbox: RunningSandbox, folder: Path, name: str = "edited.toml", **changes: object
) -> Path:
    """A config file holding the sandbox's profiles, with `changes` made to `sandbox`, its key
    paths made absolute so the copy works from any folder."""
    document = tomllib.loads(sandbox.config_path.read_text())
    profile = document["profiles"]["sandbox"]
    for key in ("private_key_file", "wechatpay_public_key_file"):
        profile[key] = str(sandbox.config_path.parent / profile[key])
    profile.update(changes)
    path = folder / name
    path.write_text(tomli_w.dumps(document))
    return path


def edit_profile(sandbox: RunningSandbox, name: str = "sandbox", **changes: Any) -> None:
    """Change keys of a profile in the sandbox's own config.toml (None removes the key)."""
    document = tomllib.loads(sandbox.config_path.read_text())
    profile = document["profiles"][name]
    for key, value in changes.items():
        if value is None:
            profile.pop(key, None)
        else:
            profile[key] = value
    sandbox.config_path.write_text(tomli_w.dumps(document))
    sandbox.config_path.chmod(0o600)


def profile_of(sandbox: RunningSandbox, name: str = "sandbox") -> dict[str, Any]:
    """A profile of the sandbox's config.toml, as written."""
    profile: dict[str, Any] = tomllib.loads(sandbox.config_path.read_text())["profiles"][name]
    return profile
