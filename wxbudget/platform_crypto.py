"""Platform certificates (平台证书) and the APIv3 key: AEAD_AES_256_GCM as WeChat Pay uses it,
X.509 parsing, and key fingerprints (wechatpay-api.md section 6).

Apart from `signing` because most commands never see a certificate: `show` and the writes
verify answers with a key already loaded, and this module (with x509 and AESGCM, imported
inside the functions) stays off their start.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import rsa

APIV3_KEY_BYTES = 32
AEAD_ALGORITHM = "AEAD_AES_256_GCM"
CERTIFICATE_ASSOCIATED_DATA = "certificate"
# AESGCM and x509 are imported inside the functions below: x509 alone more than doubles this
# module's import time, and most commands never see a certificate.


def aead_encrypt(apiv3_key: bytes, nonce: str, associated_data: str, plaintext: bytes) -> str:
    """AEAD_AES_256_GCM as WeChat Pay uses it: base64 of ciphertext with the tag appended.

    The nonce and associated data are the UTF-8 bytes of the strings sent next to the ciphertext.
    """
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    _check_apiv3_key(apiv3_key)
    sealed = AESGCM(apiv3_key).encrypt(
        nonce.encode("utf-8"), plaintext, associated_data.encode("utf-8")
    )
    return base64.b64encode(sealed).decode("ascii")


def aead_decrypt(apiv3_key: bytes, nonce: str, associated_data: str, ciphertext_b64: str) -> bytes:
    """Open what `aead_encrypt` sealed; raises ValueError saying which part is wrong."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    _check_apiv3_key(apiv3_key)
    try:
        sealed = base64.b64decode(ciphertext_b64, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError(f"ciphertext is not valid base64: {error}") from error
    try:
        return AESGCM(apiv3_key).decrypt(
            nonce.encode("utf-8"), sealed, associated_data.encode("utf-8")
        )
    except InvalidTag as error:
        raise ValueError(
            "decryption failed: wrong APIv3 key, nonce or associated_data, or altered ciphertext"
        ) from error
    except ValueError as error:  # e.g. a nonce shorter than 8 bytes
        raise ValueError(f"decryption failed: {error}") from error


def _check_apiv3_key(apiv3_key: bytes) -> None:
    if len(apiv3_key) != APIV3_KEY_BYTES:
        raise ValueError(
            f"the APIv3 key must be {APIV3_KEY_BYTES} bytes, this one has {len(apiv3_key)}"
        )


@dataclass(frozen=True)
class Certificate:
    """What a client needs from an X.509 certificate.

    `serial_no` is the serial number's bytes in upper-case hex (an even number of digits, as
    wechatpay-go's `utils.GetCertificateSerialNumber` writes it). A platform certificate's
    serial as `/v3/certificates` lists it may carry more leading zeros: use the listing's own
    string wherever WeChat Pay will compare it (`Wechatpay-Serial`, file names).
    """

    serial_no: str
    serial_number: int
    not_before: datetime
    not_after: datetime
    public_key: rsa.RSAPublicKey


def load_certificate(pem: bytes) -> Certificate:
    """Parse a PEM X.509 certificate holding an RSA key; raises ValueError otherwise."""
    from cryptography import x509

    try:
        certificate = x509.load_pem_x509_certificate(pem)
        public_key = certificate.public_key()
    except (ValueError, UnsupportedAlgorithm) as error:
        raise ValueError(f"not a PEM X.509 certificate: {error}") from error
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise ValueError("the certificate does not hold an RSA public key")
    number = certificate.serial_number
    return Certificate(
        serial_no=number.to_bytes(max(1, (number.bit_length() + 7) // 8), "big").hex().upper(),
        serial_number=number,
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        public_key=public_key,
    )


def certificate_public_key_matches(
    certificate: Certificate, private_key: rsa.RSAPrivateKey
) -> bool:
    """Whether `private_key` is the key the certificate was issued for."""
    return certificate.public_key.public_numbers() == private_key.public_key().public_numbers()


def public_key_fingerprint(public_key: rsa.RSAPublicKey) -> str:
    """SHA-256 of the DER SubjectPublicKeyInfo, lower-case hex without separators.

    The same as `openssl pkey -pubin -in KEY.pem -outform DER | sha256sum`, so a user can check it.
    """
    import hashlib

    from cryptography.hazmat.primitives import serialization

    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()
