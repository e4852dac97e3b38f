"""The hash an unknown username is verified against: made on the first miss, not at import.

Every process imports the accounts module (each CLI call, each worker) and few ever
see a sign-in for an unknown name, so none of them should pay argon2's ~150 ms at
start; a miss must still cost a verify against a real hash, as a hit does.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine

from gateway.admin.accounts import authenticate

# Counts argon2's hashes and verifies (the library's, wrapped, still doing the work), then
# imports the accounts module and signs eight unknown users in at once from threads.
_CHILD = """
import threading
import argon2
from sqlalchemy import create_engine

hashed, verified = [], []
real_hash, real_verify = argon2.PasswordHasher.hash, argon2.PasswordHasher.verify
def counting_hash(self, password, **kwargs):
    hashed.append(1)
    return real_hash(self, password, **kwargs)
def counting_verify(self, stored, password):
    verified.append(stored)
    return real_verify(self, stored, password)
argon2.PasswordHasher.hash, argon2.PasswordHasher.verify = counting_hash, counting_verify

from gateway.admin import accounts
print("after import", len(hashed))
start = threading.Barrier(8)
answers = []
def unknown():
    start.wait()
    answers.append(accounts.authenticate(create_engine("sqlite://"), "", "some password"))
threads = [threading.Thread(target=unknown) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print("after misses", len(hashed), len(verified), len(set(verified)), answers == [None] * 8)
print("argon2", all(stored.startswith("$argon2") for stored in verified))
"""


def test_importing_hashes_nothing_and_concurrent_misses_share_one_hash() -> None:
    child = subprocess.run(
        [sys.executable, "-c", _CHILD], capture_output=True, text=True, timeout=120, check=True
    )
    assert child.stdout.splitlines() == [
        "after import 0",
        "after misses 1 8 1 True",
        "argon2 True",
    ], child.stderr


def test_an_unknown_user_is_still_verified_against_a_hash(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    verified: list[str] = []
    real_verify = PasswordHasher.verify

    def counting_verify(self: PasswordHasher, stored: Any, password: Any) -> bool:
        verified.append(stored)
        return real_verify(self, stored, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting_verify)
    assert authenticate(engine, "nobody-by-this-name", "some password") is None
    assert len(verified) == 1 and verified[0].startswith("$argon2")
