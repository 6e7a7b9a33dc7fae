"""Who scripts/schemathesis.sh runs as: a user it registers for the run, sending its token as
`Authorization: Bearer` (bearer requests are exempt from the same-origin check on writes).
`POST /api/auth/logout` ends the session it is called with, so each of its calls runs as a
user registered for that call alone, and the run's own token keeps working. A 401 is never
retried with a fresh token: with this token it is a finding."""

import os
import secrets

import requests
import schemathesis

BASE_URL = os.environ["NATTER_URL"]


def register() -> str:
    """A new user's token (the server under test has its sign-up limits off)."""
    response = requests.post(
        f"{BASE_URL}/api/auth/register",
        json={
            "username": f"st_{secrets.token_hex(6)}",
            "password": f"fuzzy {secrets.token_hex(8)} tester",
        },
        timeout=10,
    )
    response.raise_for_status()
    return response.json()["token"]


def bearer(case, token: str) -> None:
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}


@schemathesis.auth(refresh_interval=None).apply_to(method="POST", path="/api/auth/logout")
class SessionToEnd:
    def get(self, case, context):
        return register()

    def set(self, case, data, context):
        bearer(case, data)


@schemathesis.auth(refresh_interval=24 * 3600, retry_on=[])
class RunUser:
    def get(self, case, context):
        return register()

    def set(self, case, data, context):
        bearer(case, data)
