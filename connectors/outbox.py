"""An outbox folder as a Mailer: each message becomes one .eml file, written atomically.

The file name comes from the Message-ID only (never from a unit's name), so sending the same
message twice leaves one file, and `delivered()` can say for sure whether a message went out.
"""

from __future__ import annotations

import os
import re
from email import policy
from email.message import EmailMessage
from pathlib import Path

from ingest.errors import FatalSourceError, RetryableSourceError

_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]+")


def eml_name(message_id: str) -> str:
    """'<tidtam.reminder.95.20221112.ab12@example.go.th>' → 'tidtam.reminder.95.20221112.ab12@example.go.th.eml'."""
    slug = _UNSAFE.sub("_", message_id.strip().strip("<>")).strip("._")[:180]
    if not slug:
        raise ValueError(f"Message-ID {message_id!r} has nothing usable for a file name")
    return f"{slug}.eml"


class OutboxMailer:
    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def send(self, message: EmailMessage) -> None:
        message_id = message.get("Message-ID")
        if not message_id:
            raise ValueError("an outbox message needs a Message-ID (it names the file)")
        final = self.folder / eml_name(str(message_id))
        temp = final.with_name(f".{final.name}.tmp")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with temp.open("wb") as handle:
                handle.write(message.as_bytes(policy=policy.SMTP))
                handle.flush()
                os.fsync(handle.fileno())
            # A reader of the folder sees either no file or the whole message, never half of one.
            os.replace(temp, final)
        except PermissionError as exc:
            raise FatalSourceError(f"outbox folder {self.folder} is not writable ({exc}): fix its permissions "
                                   "or set mail.outbox to another folder", source=str(self.folder)) from None
        except OSError as exc:
            temp.unlink(missing_ok=True)
            raise RetryableSourceError(f"could not write {final} ({exc})", source=str(self.folder)) from None

    def delivered(self, message_id: str) -> bool:
        """Whether a message with this Message-ID is in the outbox (settles a crashed run's intents)."""
        return (self.folder / eml_name(message_id)).exists()

    def close(self) -> None:
        """Nothing to release; here so every mailer can be closed alike."""
