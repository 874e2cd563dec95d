"""Which keys may sign an answer: the WeChat Pay public key and/or platform certificates."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from wxbudget import signing
from wxbudget.errors import WxBudgetError
from wxbudget.i18n import _
from wxbudget.settings import Settings

if TYPE_CHECKING:
    from wxbudget.certs import CachedCertificate


class Verifier:
    """The keys that may sign answers: the WeChat Pay public key and/or platform certificates.

    With both configured (the migration period) either serial is accepted. An answer signed by
    a platform certificate that is not cached triggers one refresh of the cache.
    """

    def __init__(self, settings: Settings, clock: Callable[[], float]) -> None:
        self.settings = settings
        self.clock = clock
        self.public_keys: dict[str, signing.PublicKey] = {}
        if settings.wechatpay_public_key_id and settings.wechatpay_public_key:
            self.public_keys[settings.wechatpay_public_key_id] = settings.wechatpay_public_key
        self.certificates: list[CachedCertificate] = []
        if settings.platform_cert_dir is not None:
            from wxbudget import certs

            self.certificates = certs.load_cache(settings.platform_cert_dir, cache_key(settings))
        self.refresh: Callable[[], object] | None = None
        self.refreshed = False

    def keys(self, now: int) -> dict[str, signing.PublicKey]:
        if not self.certificates:
            return self.public_keys
        from wxbudget import certs

        return self.public_keys | certs.keys_by_serial(self.certificates, certs.utc_now(now))

    def preferred_serial(self) -> str | None:
        """The Wechatpay-Serial to send: WeChat Pay answers with the key it names."""
        if self.settings.wechatpay_public_key_id or not self.certificates:
            return self.settings.wechatpay_public_key_id
        from wxbudget import certs

        valid = [c for c in self.certificates if c.valid_at(certs.utc_now(self.clock()))]
        return valid[-1].serial_no if valid else None

    def verify(self, headers: Mapping[str, str], body: bytes, *, now: int) -> signing.Verification:
        result = signing.verify_response(headers, body, public_keys=self.keys(now), now=now)
        serial = headers.get(signing.HEADER_SERIAL, "")
        if (
            not result.ok
            and serial
            and signing.key_for_serial(self.keys(now), serial) is None
            and self.settings.platform_cert_dir is not None
            and self.refresh is not None
            and not self.refreshed
        ):
            self.refreshed = True  # once per client: a bad serial must not loop downloads
            try:
                self.refresh()
            except WxBudgetError as error:
                return signing.Verification.failed(
                    _(
                        "{reason}; refreshing the platform certificates failed: {line}",
                        reason=result.reason,
                        line=error.line(),
                    )
                )
            result = signing.verify_response(headers, body, public_keys=self.keys(now), now=now)
        return result


def cache_key(settings: Settings) -> bytes | None:
    """The APIv3 key that opens the certificate cache, read only when there is a cache to open
    (a profile whose cache is still empty starts without touching the key file)."""
    from wxbudget import certs

    folder = settings.platform_cert_dir
    if folder is None or not any(
        p.suffix == certs.CACHE_SUFFIX for p in certs.cached_files(folder)
    ):
        return None
    return settings.read_apiv3_key()
