"""The Twilio account the service checks signatures with and calls the REST API as."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass

from hotline.settings import Settings

DEV_CREDENTIALS_FILE = "twilio-dev.json"


class MissingCredentials(RuntimeError):
    """Production without a Twilio account configured."""


@dataclass(frozen=True)
class TwilioCredentials:
    """An account SID and its auth token."""

    account_sid: str
    auth_token: str
    generated: bool = False


def twilio_credentials(settings: Settings) -> TwilioCredentials:
    """The configured pair; in development, a pair generated once into var/ and shared with the emulator."""
    if settings.twilio_account_sid and settings.twilio_auth_token:
        return TwilioCredentials(settings.twilio_account_sid, settings.twilio_auth_token)
    if settings.is_production:
        raise MissingCredentials(
            "HOTLINE_TWILIO_ACCOUNT_SID and HOTLINE_TWILIO_AUTH_TOKEN must be set in production: "
            "copy them from the Twilio console (Account Info)."
        )
    path = settings.var_dir / DEV_CREDENTIALS_FILE
    if not path.exists():
        settings.var_dir.mkdir(parents=True, exist_ok=True)
        pair = {"account_sid": "AC" + secrets.token_hex(16), "auth_token": secrets.token_hex(16)}
        tmp = path.with_suffix(f".{secrets.token_hex(4)}.tmp")
        tmp.write_text(json.dumps(pair, indent=2))
        tmp.chmod(0o600)
        try:  # link, not rename: if two processes race, the first pair wins for both
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    pair = json.loads(path.read_text())
    return TwilioCredentials(pair["account_sid"], pair["auth_token"], generated=True)
