"""Throwaway service-account keys, generated at runtime (never written to the repository).

Uses `cryptography`, which google-auth already depends on. The key is generated once per process.
"""

from __future__ import annotations

import secrets
from functools import cache
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


@cache
def _private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def service_account_info(
    token_uri: str,
    client_email: str = "tidtam-test@tidtam-emulator.iam.gserviceaccount.com",
    project_id: str = "tidtam-emulator",
) -> dict[str, Any]:
    """A service-account JSON dict whose token_uri points at the emulator's /token."""
    return {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": secrets.token_hex(20),
        "private_key": _private_key_pem(),
        "client_email": client_email,
        "client_id": str(secrets.randbelow(10**20)),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "universe_domain": "googleapis.com",
    }
