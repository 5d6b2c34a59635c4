"""Personal data in the insights is a choice: with INSIGHTS_PSEUDONYMS=true, every user name
and e-mail address in an insight table (and so in its chart, preview and the HTML report) is
replaced by a stable pseudonym: the same person gets the same pseudonym in every run and every
insight, so "one owner has 40 stale items" still reads, without saying who.

The pseudonym is an HMAC-SHA256 of the value under INSIGHTS_PSEUDONYM_KEY, a secret: without
the key nobody can recompute a pseudonym from a list of names and so undo it. The key is read
from the environment at run time and used in this process only: it is never written to SQL,
tables, run config, metadata or the report. The raw tables keep what the API returned
(docs/insights.md says what this does and does not hide).
"""

from __future__ import annotations

import hashlib
import hmac
import os

from assets.errors import ConfigurationError

PSEUDONYMS_SETTING = "INSIGHTS_PSEUDONYMS"
KEY_SETTING = "INSIGHTS_PSEUDONYM_KEY"
MIN_KEY_LENGTH = 16
PREFIX = "user-"
_ON = ("1", "true", "yes", "on")
_OFF = ("", "0", "false", "no", "off")


def pseudonym_key() -> bytes | None:
    """The key when pseudonyms are on, None when they are off."""
    wanted = os.environ.get(PSEUDONYMS_SETTING, "").strip().lower()
    if wanted in _OFF:
        return None
    if wanted not in _ON:
        raise ConfigurationError(
            f"{PSEUDONYMS_SETTING}={wanted!r} is not understood: set it to true or false."
        )
    key = os.environ.get(KEY_SETTING, "").strip()
    if len(key) < MIN_KEY_LENGTH:
        raise ConfigurationError(
            f"{PSEUDONYMS_SETTING} is on but {KEY_SETTING} is "
            f"{'not set' if not key else 'too short'}: set it to a random secret of at least "
            f"{MIN_KEY_LENGTH} characters (for example `openssl rand -hex 32`), kept like a "
            "password; the same key gives the same pseudonyms in every run."
        )
    return key.encode()


def pseudonym(key: bytes, value: str) -> str:
    return PREFIX + hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:12]
