"""A real SMTP server on loopback (aiosmtpd) whose answers tests can script: 550 for some, 421 once, drop."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)


@dataclass
class Inbox:
    """The server's behaviour and what it accepted."""

    refuse: dict[str, str] = field(default_factory=dict)  # address → reply to RCPT, e.g. "550 5.1.1 no such user"
    data_replies: list[str] = field(default_factory=list)  # replies used (and removed) before accepting DATA
    drop_after_data: int = 0  # close the connection instead of answering the next N messages (after storing them)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.data_replies:
                return self.data_replies.pop(0)
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content
                                          or envelope.content))
            if self.drop_after_data:
                self.drop_after_data -= 1
                server.transport.close()  # the message is in, but the client never hears so
                return "250 OK"
        return "250 OK"

    def messages(self) -> list[EmailMessage]:
        return [r.message for r in self.received]


class LoopbackController(Controller):
    """aiosmtpd's Controller on port 0: the OS picks a free port, read back once the server is up."""

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@contextmanager
def smtp_server(inbox: Inbox | None = None) -> Iterator[tuple[Inbox, int]]:
    inbox = inbox or Inbox()
    controller = LoopbackController(inbox, hostname="127.0.0.1", port=0, ready_timeout=5)
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()
