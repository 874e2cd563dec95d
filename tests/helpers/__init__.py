"""One home for what tests share; test modules import from here, never from each other.

- `cli`: the in-process `run`, the installed script (`SCRIPT`, `script`, `spawn`) and a
  pseudo-terminal (`converse`);
- `logs`: readers of the sandbox's request log and of the audit journal, and loud waits;
- `clock`: a clock that moves only when something sleeps on it, and `limiters_on` to put a
  command's rate limiter on it;
- `readme`: the README's command examples, found and run as a reader types them;
- `sandboxes`: prepared sandbox homes copied per test (key generation happens once per session),
  the `Sandboxes` factory behind the `sandboxes` fixture, seeds and profile copies;
- `signing_client`: a raw APIv3 client that signs like a merchant or a brand and verifies answers;
- `certificates`: self-signed X.509 certificates with a chosen key, serial and validity;
- `stalled`: a loopback listener no connection to can be made (its accept queue is full).
"""
