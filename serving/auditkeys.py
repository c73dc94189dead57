"""The audit chain's secret, kept outside the database so that whoever can write the database cannot
rewrite the chain (``serving.audit``).

The current key is ``HAZLEADS_AUDIT_KEY`` if set (at least 32 characters), else the key file
(``HAZLEADS_AUDIT_KEY_FILE``, default ``audit.key`` in the home folder), made on first use: 32 random
bytes as hex, mode 0600. Keys retired by a rotation stay in the keyring folder
(``HAZLEADS_AUDIT_KEYRING``, default ``audit-keys/`` in the home folder, mode 0700), one file
``<key id>.key`` each, so that rows and checkpoints signed with them still verify. A key id is a
fingerprint of the key (it reveals nothing of it); every audit row and checkpoint names the key that
signed it. A key file that others may read is refused (``chmod 600`` it).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

KEY_BYTES = 32
MIN_SECRET_CHARS = 32


class AuditKeyError(RuntimeError):
    """The audit key cannot be used as configured (missing, too short, readable by others)."""


def key_id(key: bytes) -> str:
    """A 16-hex-character fingerprint of ``key`` (a one-way hash: it does not reveal the key)."""
    return hashlib.sha256(b"hazleads audit key id\x00" + key).hexdigest()[:16]


@dataclass(frozen=True)
class AuditKeys:
    """The current signing key and every key that may have signed older rows, by key id."""

    current_id: str
    keys: Mapping[str, bytes] = field(repr=False)

    @classmethod
    def of(cls, current: bytes, retired: list[bytes] | tuple[bytes, ...] = ()) -> AuditKeys:
        keys = {key_id(k): k for k in retired}
        keys[key_id(current)] = current
        return cls(key_id(current), keys)

    @property
    def current(self) -> bytes:
        return self.keys[self.current_id]

    def get(self, kid: str | None) -> bytes | None:
        return self.keys.get(kid) if kid else None


def write_private(path: Path, data: bytes, exclusive: bool = False) -> None:
    """Write ``data`` to ``path`` with mode 0600 from the first byte (never readable by others, even
    briefly): a new file in the same folder, fsynced, then renamed over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    if exclusive:
        try:
            os.link(tmp, path)  # fails if another process made the key first: keep theirs
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links: the first O_EXCL creator wins instead
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                try:
                    os.write(fd, data)
                    os.fsync(fd)
                finally:
                    os.close(fd)
        finally:
            tmp.unlink()
    else:
        os.replace(tmp, path)


def _read_key(path: Path) -> bytes:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise AuditKeyError(f"{path}: the audit key may be read by others (mode {stat.S_IMODE(mode):o}); "
                            f"run `chmod 600 {path}`")
    text = path.read_text(encoding="ascii").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise AuditKeyError(f"{path}: not an audit key (expected {KEY_BYTES * 2} hex characters)") from None
    if len(key) < KEY_BYTES:
        raise AuditKeyError(f"{path}: the audit key is {len(key)} bytes; at least {KEY_BYTES} are needed")
    return key


def key_file(settings) -> Path:
    return Path(settings.audit_key_file) if settings.audit_key_file else settings.home_dir / "audit.key"


def keyring_dir(settings) -> Path:
    return Path(settings.audit_keyring) if settings.audit_keyring else settings.home_dir / "audit-keys"


def _retired(folder: Path) -> list[bytes]:
    if not folder.is_dir():
        return []
    return [_read_key(p) for p in sorted(folder.glob("*.key"))]


def load_keys(settings, create: bool = True) -> AuditKeys:
    """The keys for ``settings``: ``HAZLEADS_AUDIT_KEY`` or the key file (made if missing and
    ``create``), plus the retired keys of the keyring folder."""
    retired = _retired(keyring_dir(settings))
    secret = settings.audit_key.get_secret_value() if settings.audit_key is not None else None
    if secret:
        if len(secret.strip()) < MIN_SECRET_CHARS:
            raise AuditKeyError(f"HAZLEADS_AUDIT_KEY is {len(secret.strip())} characters; at least {MIN_SECRET_CHARS} are needed")
        return AuditKeys.of(secret.strip().encode("utf-8"), retired)
    path = key_file(settings)
    if not path.exists():
        if not create:
            raise AuditKeyError(f"no audit key at {path} (nor HAZLEADS_AUDIT_KEY): the chain cannot be checked")
        write_private(path, secrets.token_hex(KEY_BYTES).encode("ascii") + b"\n", exclusive=True)
    return AuditKeys.of(_read_key(path), retired)


def rotate_key(settings) -> tuple[str, str]:
    """Make a new current key; the old one moves to the keyring folder. Returns (old id, new id).

    Only for the key file: a key given by ``HAZLEADS_AUDIT_KEY`` is rotated by whoever sets it
    (put the old one in the keyring folder as ``<id>.key``, hex, mode 0600, then set the new one)."""
    if settings.audit_key is not None:
        raise AuditKeyError("the audit key comes from HAZLEADS_AUDIT_KEY: rotate it there "
                            "(and keep the old one in the keyring folder; see DEVELOPERS.md)")
    old = load_keys(settings)
    folder = keyring_dir(settings)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    write_private(folder / f"{old.current_id}.key", old.current.hex().encode("ascii") + b"\n")
    new = secrets.token_bytes(KEY_BYTES)
    write_private(key_file(settings), new.hex().encode("ascii") + b"\n")
    return old.current_id, key_id(new)
