"""The local stack's mailer: every message is an .eml file under the data directory.

Open one with any mail client, or read them in tests. Written to a temporary name and
renamed, so a reader never sees half a message.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from shared.mail import compose
from shared.ports import Mailer, MailMessage


class FolderMailer(Mailer):
    def __init__(self, root: Path, sender: str) -> None:
        self.root = Path(root)
        self.sender = sender
        self._lock = threading.Lock()
        self._seq = 0

    def send(self, message: MailMessage) -> str:
        msg = compose(message, self.sender)
        self.root.mkdir(parents=True, exist_ok=True)
        with self._lock:
            self._seq += 1
            stem = f"{time.time_ns():020d}-{os.getpid()}-{self._seq:06d}"
        tmp = self.root / f".{stem}.tmp"
        tmp.write_bytes(msg.as_bytes())
        os.replace(tmp, self.root / f"{stem}.eml")
        return str(msg["Message-ID"])

    def messages(self) -> list[Path]:
        """The messages written so far, oldest first."""
        if not self.root.exists():
            return []
        return sorted(self.root.glob("*.eml"))
