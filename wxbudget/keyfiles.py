"""Key files: read a merchant private key or a WeChat Pay public key from its file, with the
file's permissions checked. Profiles hold key paths, never keys."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from wxbudget.errors import ConfigError

if TYPE_CHECKING:
    from wxbudget.signing import PrivateKey, PublicKey


def load_private_key_file(path: Path) -> PrivateKey:
    """Read a merchant private key, refusing files that others could read."""
    from wxbudget import signing

    pem = _read_key_file(path, "private key", secret=True)
    try:
        return signing.load_private_key(pem)
    except (ValueError, TypeError) as error:
        raise ConfigError(
            f"private key file {path} is not an unencrypted PEM RSA private key ({error})"
        ) from error


def load_public_key_file(path: Path) -> PublicKey:
    from wxbudget import signing

    # Not a secret, but whoever can rewrite it decides which answers are believed.
    pem = _read_key_file(path, "WeChat Pay public key", secret=False)
    try:
        return signing.load_public_key(pem)
    except (ValueError, TypeError) as error:
        raise ConfigError(
            f"WeChat Pay public key file {path} is not a PEM RSA public key ({error})"
        ) from error


def require_trusted_if_present(path: Path, what: str, *, secret: bool) -> None:
    """The trust rule for a path that may not exist yet (a cache made on first download)."""
    from wxbudget import trust

    try:
        trust.require_trusted(path, what, secret=secret)
    except FileNotFoundError:
        return
    except OSError as error:
        raise ConfigError(f"cannot read {what} {path}: {error.strerror}") from error


def _read_key_file(path: Path, what: str, *, secret: bool) -> bytes:
    from wxbudget import trust

    try:
        return trust.read_trusted(path, f"{what} file", secret=secret)
    except FileNotFoundError as error:
        raise ConfigError(f"{what} file {path} does not exist") from error
    except OSError as error:
        raise ConfigError(f"cannot read {what} file {path}: {error.strerror}") from error
