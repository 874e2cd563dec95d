"""The sandbox bounds what a client can make it hold: body size, nesting, connections, time."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tests.helpers.logs import request_log, wait_until
from tests.helpers.sandboxes import PristineHomes
from tests.helpers.signing_client import UPDATE, SigningClient
from wxbudget.sandbox import RunningSandbox, start_in_background
from wxbudget.sandbox.server import MAX_BODY_BYTES, MAX_CONNECTIONS, REQUEST_DEADLINE_SECONDS

HEAD = (
    "POST {target} HTTP/1.1\r\nHost: sandbox\r\nAccept: application/json\r\n"
    "User-Agent: hostile\r\nContent-Type: application/json\r\n"
)


def address(sandbox: RunningSandbox) -> tuple[str, int]:
    host, port = sandbox.base_url.removeprefix("http://").split(":")
    return host, int(port)


@pytest.fixture(scope="module")
def shared(
    tmp_path_factory: pytest.TempPathFactory, pristine_homes: PristineHomes
) -> Iterator[RunningSandbox]:
    """One sandbox for the module: these tests attack the socket, not the state."""
    home = pristine_homes.copy(tmp_path_factory.mktemp("limits") / "sb")
    sandbox = start_in_background(home)
    yield sandbox
    sandbox.stop()


@pytest.fixture
def running(shared: RunningSandbox) -> Iterator[RunningSandbox]:
    yield shared
    shared._server.request_deadline = REQUEST_DEADLINE_SECONDS


@pytest.fixture
def merchant(running: RunningSandbox) -> Iterator[SigningClient]:
    client = SigningClient.of(running.home)
    yield client
    client.close()


@pytest.fixture
def raw(running: RunningSandbox) -> Iterator[socket.socket]:
    connection = socket.create_connection(address(running), timeout=30)
    yield connection
    connection.close()


def read_answer(connection: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of one HTTP answer read straight off the socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed without an answer: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), headers, body


def closed_by_server(connection: socket.socket) -> bool:
    connection.settimeout(30)
    try:
        return connection.recv(1) == b""
    except ConnectionResetError:
        return True


@pytest.mark.parametrize(
    "length",
    ["50000000000", str(MAX_BODY_BYTES + 1), "99999999999999999999999999"],
)
def test_a_body_over_the_limit_is_refused_unread(
    raw: socket.socket, running: RunningSandbox, length: str
) -> None:
    raw.sendall((HEAD.format(target=UPDATE) + f"Content-Length: {length}\r\n\r\n").encode())
    raw.sendall(b"{" * 1024)  # the start of a body the server must never wait for
    status, headers, body = read_answer(raw)
    if len(length) > 18:
        assert status == 400  # not a length at all
    else:
        assert status == 413
        assert json.loads(body)["code"] == "INVALID_REQUEST"
    assert headers["request-id"]  # an API-shaped, signed answer
    assert closed_by_server(raw)
    assert request_log(running.home)[-1]["status"] == status


@pytest.mark.parametrize("length", ["²", "-1", "1e3", " ", "0x10", "+5"])
def test_a_malformed_content_length_is_a_400(
    raw: socket.socket, running: RunningSandbox, length: str
) -> None:
    head = HEAD.format(target=UPDATE) + f"Content-Length: {length}\r\n\r\n"
    raw.sendall(head.encode("utf-8"))
    status, _, body = read_answer(raw)
    assert status == 400
    assert json.loads(body)["code"] == "INVALID_REQUEST"
    assert closed_by_server(raw)
    assert request_log(running.home)[-1]["status"] == 400


def test_two_content_lengths_are_a_400(raw: socket.socket) -> None:
    head = HEAD.format(target=UPDATE) + "Content-Length: 2\r\nContent-Length: 5\r\n\r\n{}"
    raw.sendall(head.encode())
    status, _, _ = read_answer(raw)
    assert status == 400


def test_a_deeply_nested_body_is_answered_and_journaled(
    merchant: SigningClient, running: RunningSandbox
) -> None:
    nested = b"[" * 30000 + b"]" * 30000
    assert len(nested) <= MAX_BODY_BYTES
    # Signed, so it reaches the body parser: a 400 with the API's error body, not a crash.
    response = merchant.call("POST", UPDATE, nested)
    assert response.status_code == 400
    assert response.json()["code"] == "PARAM_ERROR"
    # Unsigned: refused at the gate, and the journal (which peeks for out_request_no) copes.
    opened = b"[" * 60000
    response = merchant.session.post(
        merchant.base_url + UPDATE,
        data=opened,
        headers={"Accept": "application/json", "User-Agent": "x", "Content-Type": "a/json"},
    )
    assert response.status_code in (400, 401)
    statuses = [entry["status"] for entry in request_log(running.home)]
    assert statuses[-2:] == [400, response.status_code]


def test_idle_connections_cannot_grow_the_thread_count(running: RunningSandbox) -> None:
    before = threading.active_count()
    idle = [socket.create_connection(address(running), timeout=30) for _ in range(100)]
    try:
        # The server answers each connection beyond its limit at once with 503 and closes it.
        refused = 0
        for connection in idle[MAX_CONNECTIONS:]:
            status, _, body = read_answer(connection)
            assert status == 503
            assert json.loads(body)["code"] == "SYSTEM_ERROR"
            refused += 1
        assert refused == 100 - MAX_CONNECTIONS
        assert threading.active_count() <= before + MAX_CONNECTIONS
    finally:
        for connection in idle:
            connection.close()
    # Once they are gone, their workers end and requests are served again.
    wait_until(lambda: threading.active_count() <= before, "the idle connections' workers end")
    client = SigningClient.of(running.home)
    try:
        assert client.call("GET", "/v3/certificates").status_code == 404
    finally:
        client.close()


def test_a_trickled_request_is_cut_off_at_the_deadline(running: RunningSandbox) -> None:
    running._server.request_deadline = 0.5
    connection = socket.create_connection(address(running), timeout=30)
    request = (HEAD.format(target=UPDATE) + "Content-Length: 2\r\n\r\n{}").encode()
    sent = 0
    try:
        # One byte every 50 ms would take 10 s; each byte alone would reset a per-read timeout.
        for byte in request:
            connection.sendall(bytes([byte]))
            sent += 1
            time.sleep(0.05)
    except (BrokenPipeError, ConnectionResetError):
        pass
    else:
        assert closed_by_server(connection)
    finally:
        connection.close()
    assert sent < len(request), "the whole request was trickled in without being cut off"


def test_requests_still_work_under_the_limits(
    merchant: SigningClient, running: RunningSandbox
) -> None:
    response = merchant.update(UPDATE, current_max_count=10000000, target_max_count=200)
    assert response.status_code == 200
    assert request_log(running.home)[-1]["applied"] is True


def test_a_stalled_body_is_dropped_at_the_deadline(running: RunningSandbox) -> None:
    running._server.request_deadline = 0.5
    connection = socket.create_connection(address(running), timeout=30)
    connection.sendall((HEAD.format(target=UPDATE) + "Content-Length: 100\r\n\r\n{").encode())
    try:
        assert closed_by_server(connection)
    finally:
        connection.close()
