"""SMTP as a Mailer: STARTTLS, SSL or plain (loopback only), one reused connection, timeouts.

Each failure lands where the alert log needs it: refused recipients (5xx) → PermanentRecipientError
with who did get it; try-again replies (4xx) and unreachable servers → RetryableSourceError; a
connection lost after the message went out → DeliveryUnknownError (never resent automatically).
"""

from __future__ import annotations

import copy
import re
import smtplib
import ssl
from email import policy
from email.message import EmailMessage
from email.utils import getaddresses

from ingest.errors import (
    DeliveryUnknownError,
    FatalSourceError,
    PermanentRecipientError,
    RetryableSourceError,
)

_LEADING_DOT = re.compile(rb"(?m)^\.")


class SmtpMailer:
    def __init__(self, host: str, port: int, *, security: str = "starttls", username: str = "", password: str = "",
                 timeout: float = 30.0, ssl_context: ssl.SSLContext | None = None,
                 local_hostname: str | None = None) -> None:
        if security not in ("starttls", "ssl", "none"):
            raise ValueError(f"security must be starttls, ssl or none, not {security!r}")
        self.host, self.port, self.security = host, port, security
        self.username, self.password, self.timeout = username, password, timeout
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.local_hostname = local_hostname
        self._conn: smtplib.SMTP | None = None
        self.where = f"SMTP server {host}:{port}"

    # -- connection ----------------------------------------------------------------------
    def _connect(self) -> smtplib.SMTP:
        conn: smtplib.SMTP | None = None
        try:
            if self.security == "ssl":
                conn = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self.ssl_context,
                                        local_hostname=self.local_hostname)
            else:
                conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout, local_hostname=self.local_hostname)
            conn.ehlo()
            if self.security == "starttls":
                conn.starttls(context=self.ssl_context)
                conn.ehlo()
            if self.username:
                conn.login(self.username, self.password)
            return conn
        except smtplib.SMTPAuthenticationError as exc:
            _quit(conn)
            raise FatalSourceError(
                f"{self.where} refused the login of {self.username} ({exc.smtp_code} {_text(exc.smtp_error)}): check "
                "mail.smtp.username and the password variable (Gmail needs an app password)",
                source=self.where) from None
        except smtplib.SMTPNotSupportedError:
            _quit(conn)
            raise FatalSourceError(f"{self.where} does not offer STARTTLS: set mail.smtp.security to ssl "
                                   "(port 465), or use another server", source=self.where) from None
        except smtplib.SMTPResponseException as exc:
            _quit(conn)
            raise _by_code(exc.smtp_code, f"{self.where} refused the session: {exc.smtp_code} "
                           f"{_text(exc.smtp_error)}", self.where) from None
        except (OSError, ssl.SSLError) as exc:
            _quit(conn)
            raise RetryableSourceError(f"{self.where} cannot be reached ({exc}); the mail is sent on a later run",
                                       source=self.where) from None

    def _connection(self) -> smtplib.SMTP:
        if self._conn is not None:
            try:
                if self._conn.noop()[0] == 250:
                    return self._conn
            except OSError:
                pass  # the server dropped an idle connection: nothing was sent on it, so reconnecting is safe
            self.close()
        self._conn = self._connect()
        return self._conn

    def close(self) -> None:
        conn, self._conn = self._conn, None
        _quit(conn)

    def __enter__(self) -> SmtpMailer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one message -----------------------------------------------------------------------
    def send(self, message: EmailMessage) -> None:
        sender = _envelope_sender(message)
        recipients = [a for _, a in getaddresses(message.get_all("To", []) + message.get_all("Cc", [])
                                                 + message.get_all("Bcc", [])) if a]
        if not recipients:
            raise ValueError("the message has no recipient")
        outgoing = message
        if "Bcc" in message:
            outgoing = copy.deepcopy(message)  # blind copies must not show in what everyone receives
            del outgoing["Bcc"]
        data = outgoing.as_bytes(policy=policy.SMTP)
        what = f"message {message.get('Message-ID', '')} to {', '.join(recipients)}"
        conn = self._connection()
        try:
            code, reply = conn.mail(sender)
            if code != 250:
                self._reset(conn)
                raise _by_code(code, f"{self.where} refused sender {sender}: {code} {_text(reply)}", self.where)
            refused: dict[str, tuple[int, str]] = {}
            for address in recipients:
                code, reply = conn.rcpt(address)
                if code not in (250, 251):
                    refused[address] = (code, _text(reply))
            accepted = [a for a in recipients if a not in refused]
            if not accepted:
                self._reset(conn)
                if any(code < 500 for code, _ in refused.values()):
                    raise RetryableSourceError(f"{self.where} asked to try {what} later: {_codes(refused)}",
                                               source=self.where)
                raise PermanentRecipientError(f"{self.where} refused every recipient of {what}: {_codes(refused)}",
                                              refused=refused, source=self.where)
            code, reply = conn.docmd("DATA")
            if code != 354:
                self._reset(conn)
                self._refuse_message(code, reply, accepted, what)
        except OSError as exc:
            # Nothing of the message has gone out yet: trying again later cannot duplicate it.
            self.close()
            raise RetryableSourceError(f"{self.where} dropped the connection before {what} was sent ({exc})",
                                       source=self.where) from None
        try:
            conn.send(_dot_stuffed(data))
            code, reply = conn.getreply()
        except OSError as exc:
            self.close()
            raise DeliveryUnknownError(f"{self.where} dropped the connection after {what} was handed over ({exc}): "
                                       "it may or may not be delivered", source=self.where) from None
        if code != 250:
            self._refuse_message(code, reply, accepted, what)
        if refused:
            raise PermanentRecipientError(f"{self.where} refused some recipients of {what}: {_codes(refused)}",
                                          refused=refused, accepted=accepted, source=self.where)

    def _refuse_message(self, code: int, reply: bytes, accepted: list[str], what: str) -> None:
        if code < 500:
            raise RetryableSourceError(f"{self.where} asked to try {what} later: {code} {_text(reply)}",
                                       source=self.where)
        # The server rejected the message itself (content, size, policy): for everyone, for good.
        raise PermanentRecipientError(f"{self.where} rejected {what}: {code} {_text(reply)}",
                                      refused={a: (code, _text(reply)) for a in accepted}, source=self.where)

    def _reset(self, conn: smtplib.SMTP) -> None:
        try:
            conn.rset()
        except OSError:
            self.close()


def _envelope_sender(message: EmailMessage) -> str:
    addresses = getaddresses(message.get_all("From", []))
    if not addresses or not addresses[0][1]:
        raise ValueError("the message has no From address")
    return addresses[0][1]


def _dot_stuffed(data: bytes) -> bytes:
    # What smtplib's data() does: a line starting with "." gets a second one, then the end marker.
    data = _LEADING_DOT.sub(b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def _by_code(code: int, message: str, where: str) -> RetryableSourceError | FatalSourceError:
    return RetryableSourceError(message, source=where) if 400 <= code < 500 else FatalSourceError(message, source=where)


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _codes(refused: dict[str, tuple[int, str]]) -> str:
    return "; ".join(f"{a}: {c} {t}" for a, (c, t) in refused.items())


def _quit(conn: smtplib.SMTP | None) -> None:
    if conn is None:
        return
    try:
        conn.quit()
    except OSError:
        conn.close()
