"""What must never appear in a log line: passwords, access and refresh tokens, invite
tokens, signed-URL signatures, password hashes, private keys and secret values.

`leaks(lines, known)` returns the offending lines, each with what was found. `known`
holds the concrete values a suite handed out or used (tokens, passwords, signed URLs);
patterns catch the shapes of such values even when the suite never saw them."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

PATTERNS = {
    "jwt": re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}"),
    "refresh_token": re.compile(r"tmr_[A-Za-z0-9_-]{20,}"),
    "invite_token": re.compile(r"inv_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{20,}"),
    "password_hash": re.compile(r"\$argon2(?:id|i|d)\$"),
    "private_key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "url_signature": re.compile(r"(?i)(?:x-goog-)?signature=[0-9a-f%]{16,}"),
}
MIN_KNOWN = 12  # shorter values could match by chance


def signed_url_secrets(url: str) -> list[str]:
    """The signature of a signed URL (the part that grants access)."""
    return [v for k, v in parse_qsl(urlsplit(url).query) if "signature" in k.lower()]


def token_parts(token: str) -> list[str]:
    """A JWT is secret as a whole; its signature alone is enough to spot a leak."""
    parts = [token]
    if token.count(".") == 2:
        parts.append(token.rsplit(".", 1)[1])
    return parts


def stored_secret_values(data_dir: Path) -> list[str]:
    """Every secret the local stack generated, in the textual forms a careless log
    line could carry (raw text, hex, base64)."""
    out: list[str] = []
    root = Path(data_dir) / "secrets"
    if not root.is_dir():
        return out
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        raw = path.read_bytes()
        out += [raw.hex(), base64.b64encode(raw).decode(),
                base64.urlsafe_b64encode(raw).decode().rstrip("=")]
        try:
            text = raw.decode()
        except UnicodeDecodeError:
            continue
        out.append(text)
        try:
            doc = json.loads(text)
        except ValueError:
            continue
        for key in doc.get("keys", []) if isinstance(doc, dict) else []:
            pem = key.get("private_pem", "")
            out += [line for line in pem.splitlines() if line and "-----" not in line]
            if key.get("d"):
                out.append(key["d"])
    return out


def leaks(lines: Iterable[str], known: Iterable[str] = ()) -> list[str]:
    values = sorted({k for k in known if k and len(k) >= MIN_KNOWN}, key=len, reverse=True)
    found = []
    for line in lines:
        hits = [name for name, rx in PATTERNS.items() if rx.search(line)]
        hits += ["known:" + v[:6] + "..." for v in values if v in line]
        if hits:
            found.append(f"{hits}: {line[:300]}")
    return found
