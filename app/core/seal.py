"""Ed25519 seals over the audit chain's head: the signed bytes, and the key from its text form.

The signed message is the canonical JSON of ``{seq, hash, at}`` (keys sorted, no spaces, UTF-8, ``at`` in
UTC to the second with a ``Z``), e.g. ``{"at":"2026-12-03T12:00:00Z","hash":"9f…","seq":42}``: any Ed25519
library checks it from the three published fields alone (README: sealed checkpoints).
"""

import base64
import binascii
import hashlib
import json
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SEED_BYTES = 32


def checkpoint_time(at: datetime) -> datetime:
    """A checkpoint's time as it is signed and stored: UTC, whole seconds."""
    return at.astimezone(UTC).replace(microsecond=0)


def signed_message(seq: int, head_hash: str, at: datetime) -> bytes:
    stamp = checkpoint_time(at).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps({"at": stamp, "hash": head_hash, "seq": seq}, sort_keys=True, separators=(",", ":")).encode()


def new_seed() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes_raw()


def key_from_seed(seed: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(seed)


def parse_private_key(text: str) -> Ed25519PrivateKey:
    """A key as the setting gives it: PEM (PKCS#8, ``openssl genpkey -algorithm ed25519``) or the base64 of
    its 32-byte seed. Raises ``ValueError`` without repeating the text (it is a secret)."""
    stripped = text.strip()
    if stripped.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(stripped.encode(), password=None)
        except (ValueError, TypeError) as exc:
            raise ValueError("not a readable unencrypted PEM private key") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the PEM key is not an Ed25519 key")
        return key
    try:
        seed = base64.b64decode(stripped, validate=True)
    except binascii.Error as exc:
        raise ValueError("neither PEM nor base64") from exc
    if len(seed) != SEED_BYTES:
        raise ValueError(f"the base64 must hold the {SEED_BYTES}-byte Ed25519 seed")
    return key_from_seed(seed)


def public_bytes(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes_raw()


def public_pem(public_key: bytes) -> str:
    loaded = Ed25519PublicKey.from_public_bytes(public_key)
    pem = loaded.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem.decode()


def key_id(public_key: bytes) -> str:
    """A short name for a public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def signature_holds(public_key: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True
