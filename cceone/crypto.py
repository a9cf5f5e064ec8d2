"""Encryption at rest for secrets the platform must read back (cloud credentials, agent
tokens for re-rendering the agent YAML), with rotatable keys.

`CCEONE_ENCRYPTION_KEYS` lists Fernet keys, newest first: the first encrypts, all
decrypt; `manage.py rotate_encryption_keys` re-encrypts every value with the first.
"""
from functools import lru_cache

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings


@lru_cache(maxsize=1)
def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in settings.CCEONE_ENCRYPTION_KEYS])


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode() if plaintext else ""


def decrypt(ciphertext: str) -> str:
    return _fernet().decrypt(ciphertext.encode()).decode() if ciphertext else ""


def rotate(ciphertext: str) -> str:
    return _fernet().rotate(ciphertext.encode()).decode() if ciphertext else ""


def reset_cache() -> None:
    _fernet.cache_clear()
