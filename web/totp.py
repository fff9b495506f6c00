"""The second factor: a time-based one-time code (TOTP, RFC 6238; pyotp), from any authenticator
app (the phone's, or a government one that reads otpauth:// codes).

The secret is stored encrypted (AES-256-GCM, `cryptography`) with a key kept in a file outside
the database ([accounts] secret_file, made on first use, readable by its owner only): a dump or
a backup of the database alone does not give the secrets. The encryption is bound to the
account's id, so a secret copied to another account's row does not decrypt. A code is taken
once: the time step of the last one accepted is kept, and a code of that step or before is
refused (one seen over a shoulder cannot be replayed)."""

from __future__ import annotations

import base64
import os
import secrets
import time
from pathlib import Path

import pyotp
import segno
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from luoshi.facts.problems import InputError, Location, Problem

ISSUER = "落实"
STEP = 30  # seconds of one code
DRIFT = 1  # steps before and after now that are accepted (a phone's clock may be off a little)
_VERSION = "v1:"


def new_secret() -> str:
    return pyotp.random_base32()


def uri(secret: str, name: str) -> str:
    """The otpauth:// URI an authenticator app reads (from the QR code, or typed in)."""
    return pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name=ISSUER)


def qr_code(text: str) -> str:
    """`text` as a QR code: an SVG data URI for an <img> (segno writes it, offline, in pure
    Python; the pages' CSP allows `img-src data:`)."""
    return segno.make(text, error="m").svg_data_uri(scale=5, border=2)


def grouped(secret: str) -> str:
    """The secret as a person types it into an app: groups of four."""
    return " ".join(secret[start:start + 4] for start in range(0, len(secret), 4))


def accepted_step(secret: str, code: str, last_step: int | None) -> int | None:
    """The time step `code` belongs to, if it is the code of a step near now that is later than
    the last one used; else None."""
    code = "".join(code.split())
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        return None
    generator = pyotp.TOTP(secret)
    now = int(time.time()) // STEP
    for step in range(now - DRIFT, now + DRIFT + 1):
        if (last_step is None or step > last_step) and \
                secrets.compare_digest(generator.at(step * STEP), code):
            return step
    return None


class Sealer:
    """Encrypts and decrypts TOTP secrets with the key in `key_file`."""

    def __init__(self, key_file: str) -> None:
        self.key_file = Path(key_file)

    def _key(self, create: bool) -> bytes:
        if not self.key_file.exists():
            if not create:
                raise _problem(f"双因素验证的密钥文件 {self.key_file} 不存在（从备份恢复时须一并恢复；"
                               "否则用 luoshi users totp NAME --off 关掉各账号的双因素，再重新绑定）")
            self.key_file.parent.mkdir(parents=True, exist_ok=True)
            handle = os.open(self.key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(handle, "w") as file:
                file.write(base64.b64encode(AESGCM.generate_key(bit_length=256)).decode() + "\n")
        try:
            key = base64.b64decode(self.key_file.read_text().strip(), validate=True)
        except (OSError, ValueError) as error:
            raise _problem(f"双因素验证的密钥文件 {self.key_file} 无法读取：{error}") from None
        if len(key) != 32:
            raise _problem(f"双因素验证的密钥文件 {self.key_file} 已损坏（应为 32 字节的密钥）")
        return key

    def seal(self, secret: str, user_id: int) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self._key(create=True)).encrypt(nonce, secret.encode(), _bound(user_id))
        return _VERSION + base64.b64encode(nonce + sealed).decode()

    def open(self, stored: str, user_id: int) -> str:
        try:
            data = base64.b64decode(stored.removeprefix(_VERSION), validate=True)
            return AESGCM(self._key(create=False)).decrypt(data[:12], data[12:],
                                                           _bound(user_id)).decode()
        except (InvalidTag, ValueError):
            raise _problem("账号的双因素密钥无法解密（密钥文件不是加密时的那一个，或数据库中的值被改动）；"
                           "用 luoshi users totp NAME --off 关掉后重新绑定") from None


def _bound(user_id: int) -> bytes:
    return f"luoshi-totp:{user_id}".encode()


def _problem(message: str) -> InputError:
    return InputError([Problem(Location("[accounts] secret_file"), "C001", message)])
