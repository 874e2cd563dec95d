"""Fixtures: every test runs isolated from the home folder, against a real sandbox when it asks.

Helpers live in tests/helpers/; this file holds only fixtures.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers.hostile import HostileServer, Respond, WechatPayKey, profile_for
from tests.helpers.sandboxes import PristineHomes, Sandboxes, is_strict
from wxbudget.sandbox import RunningSandbox

STRIPPED_PREFIXES = ("WXBUDGET_",)
STRIPPED_NAMES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "CI")
# The locale decides wxbudget's language: tests speak English unless they ask for Chinese.
STRIPPED_LOCALE = ("LC_ALL", "LC_MESSAGES", "LANGUAGE")


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Temp home/config/data/state folders; no WXBUDGET_*, proxy or locale variables leak in."""
    home = tmp_path / "home"
    home.mkdir()
    for name in list(os.environ):
        if name.startswith(STRIPPED_PREFIXES) or name.upper() in STRIPPED_NAMES + STRIPPED_LOCALE:
            monkeypatch.delenv(name)
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("NO_COLOR", "1")
    return home


@pytest.fixture(autouse=True)
def instant_backoff(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """No real back-off waits in-process: tests count retries, they do not wait for them.

    Tests marked `real_backoff` check the waits themselves (on `backoff_seconds` and through
    `Client(sleep=...)`); subprocesses (the chaos test) keep the real ones too.
    """
    if request.node.get_closest_marker("real_backoff") is None:
        from wxbudget import transport

        monkeypatch.setattr(transport, "BACKOFF_BASE_SECONDS", 0.0)


@pytest.fixture(scope="session")
def pristine_homes(tmp_path_factory: pytest.TempPathFactory) -> PristineHomes:
    """Sandbox homes with keys made once per session; tests start sandboxes on copies."""
    return PristineHomes(tmp_path_factory.mktemp("pristine-homes"))


@pytest.fixture
def sandboxes(
    tmp_path: Path, pristine_homes: PristineHomes, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Sandboxes]:
    """Start sandboxes by name (`sandboxes.start("sb", faults=[...])`); all stop at the end."""
    factory = Sandboxes(tmp_path, pristine_homes, monkeypatch)
    try:
        yield factory
    finally:
        factory.stop_all()


@pytest.fixture
def sandbox(sandboxes: Sandboxes, request: pytest.FixtureRequest) -> RunningSandbox:
    """A real sandbox on a free loopback port; WXBUDGET_CONFIG points at its profile.

    The default (lenient) sandbox; `@BOTH_MODES` (tests.helpers.sandboxes) runs the test against
    `--strict` as well.
    """
    return sandboxes.start(strict=is_strict(request))


@pytest.fixture
def hostile(
    sandbox: RunningSandbox, tmp_path: Path
) -> Iterator[Callable[[Respond], tuple[HostileServer, str]]]:
    """Start a hostile server answering with `script`; returns it and a config pointing at it
    (the sandbox's profile, so answers can be signed with its WeChat Pay key: `key`)."""
    servers: list[HostileServer] = []

    def start(script: Respond) -> tuple[HostileServer, str]:
        server = HostileServer(script)
        servers.append(server)
        return server, str(profile_for(sandbox, tmp_path, server.base_url))

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def key(sandbox: RunningSandbox) -> WechatPayKey:
    """The sandbox's WeChat Pay key, as a hostile server holding it would sign with."""
    return WechatPayKey.of(sandbox)
