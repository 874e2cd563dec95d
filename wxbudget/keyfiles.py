"""Key files: read a merchant private key or a WeChat Pay public key from its file, with the
file's permissions checked. Profiles hold key paths, never keys."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from wxbudget.errors import ConfigError, os_reason
from wxbudget.i18n import _

if TYPE_CHECKING:
    from wxbudget.signing import PrivateKey, PublicKey

# What only key material looks like where a path belongs: PEM armour, several lines, or a PEM
# body without its armour (DER in base64 starts "MII" for any RSA key or certificate).
KEY_MATERIAL_MARKERS = ("-----BEGIN", "\n")
_PEM_BODY = re.compile(r"MII[A-Za-z0-9+/=]{100,}")
# The APIv3 key is 32 letters and digits (商户平台 > API安全 > APIv3密钥).
_APIV3_KEY = re.compile(r"[A-Za-z0-9]{32}")


def looks_like_key_material(key: str, value: str, folder: Path | None = None) -> bool:
    """Whether a profile value is a key itself rather than a path or an id. Such a value is
    never printed: not in an error line, not in JSON. `folder` is where a relative path is
    read from: a 32-character value naming a file there is a file name after all."""
    if any(marker in value for marker in KEY_MATERIAL_MARKERS):
        return True
    stripped = value.strip()
    if _PEM_BODY.fullmatch(stripped):
        return True
    if key == "apiv3_key_file" and _APIV3_KEY.fullmatch(stripped):
        return folder is None or not (folder / stripped).exists()
    return False


def refuse_key_material(table: dict[str, object], where: str, folder: Path) -> None:
    """Refuse (exit 3) a table holding key material, naming the key, never the value."""
    for key, value in table.items():
        if isinstance(value, str) and looks_like_key_material(key, value, folder):
            raise ConfigError(
                _(
                    "{key} in {where} holds key material instead of a path (not shown); move the "
                    "key into a file only you can read (chmod 600) and set {key} to its path",
                    key=key,
                    where=where,
                )
            )


def load_private_key_file(path: Path) -> PrivateKey:
    """Read a merchant private key, refusing files that others could read."""
    from wxbudget import signing

    pem = _read_key_file(path, _("private key"), secret=True)
    try:
        return signing.load_private_key(pem)
    except (ValueError, TypeError) as error:
        raise ConfigError(
            _(
                "private key file {path} is not an unencrypted PEM RSA private key ({error})",
                path=path,
                error=error,
            )
        ) from error


def load_public_key_file(path: Path) -> PublicKey:
    from wxbudget import signing

    # Not a secret, but whoever can rewrite it decides which answers are believed.
    pem = _read_key_file(path, _("WeChat Pay public key"), secret=False)
    try:
        return signing.load_public_key(pem)
    except (ValueError, TypeError) as error:
        raise ConfigError(
            _(
                "WeChat Pay public key file {path} is not a PEM RSA public key ({error})",
                path=path,
                error=error,
            )
        ) from error


def require_trusted_if_present(path: Path, what: str, *, secret: bool) -> None:
    """The trust rule for a path that may not exist yet (a cache made on first download)."""
    from wxbudget import trust

    try:
        trust.require_trusted(path, what, secret=secret)
    except FileNotFoundError:
        return
    except OSError as error:
        raise ConfigError(
            _(
                "cannot read {what} {path}: {strerror}",
                what=what,
                path=path,
                strerror=os_reason(error),
            )
        ) from error


def _read_key_file(path: Path, what: str, *, secret: bool) -> bytes:
    from wxbudget import trust

    try:
        return trust.read_trusted(path, _("{what} file", what=what), secret=secret)
    except FileNotFoundError as error:
        raise ConfigError(_("{what} file {path} does not exist", what=what, path=path)) from error
    except OSError as error:
        raise ConfigError(
            _(
                "cannot read {what} file {path}: {strerror}",
                what=what,
                path=path,
                strerror=os_reason(error),
            )
        ) from error
