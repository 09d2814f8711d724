"""Mail delivery against a real SMTP server started by the test (aiosmtpd): notifications
leave the outbox by SMTP, failures are retried, and no message is ever lost."""

from __future__ import annotations

import asyncio
import email
import re
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from jinja2 import DictLoader, Environment, select_autoescape
from sqlalchemy import select

from extensions.assets import LocalStorage
from extensions.database import application_lane
from extensions.jobs import JobSettings
from extensions.mail import MailSeal, MailSettings, OutboxMessage, deliver, queue_mail
from pgstac.cluster import free_port
from tests.conftest import make_app
from tests.registry import mails, unique


class Inbox:
    """An aiosmtpd handler keeping what it receives."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


SEAL = MailSeal(["a-test-secret"])


def settings(port: int, **options: Any) -> MailSettings:
    return MailSettings(smtp_host="127.0.0.1", smtp_port=port, security="none", **options)


async def wait_for(condition: Any, seconds: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.2)


async def test_notifications_leave_by_smtp(
    database: str, storage_root: Path, registry_demo: list[str], smtp: tuple[Inbox, int]
) -> None:
    """The API writes the verification mail to the outbox; the job worker sends it."""
    inbox, port = smtp
    app = make_app(database, storage_root, mail=settings(port), jobs=JobSettings())
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        address = unique("smtp")
        response = await client.post(
            "/registry/email-verifications", json={"email": address, "purpose": "adhesion"}
        )
        assert response.status_code == 202
        try:
            await wait_for(lambda: any(m["To"] == address for m in inbox.messages))
        except AssertionError:
            raise AssertionError(f"not delivered: {await mails(client, address)}") from None
    received = next(m for m in inbox.messages if m["To"] == address)
    assert "vérification" in str(
        email.header.make_header(email.header.decode_header(received["Subject"]))
    )
    body = received.get_payload(decode=True).decode()
    assert re.search(r"/portail/verification/[\w-]{20,}\.", body), body  # the working link
    async with application_lane(database) as lane, lane.session() as session:
        stored = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.recipients.contains([address]))
        )
        assert stored is not None and stored.status == "sent"
        assert "/portail/verification/[masqué]" in stored.body  # the copy kept is masked


async def test_failures_are_retried_and_nothing_is_lost(database: str, home: Path) -> None:
    templates = Environment(
        loader=DictLoader({"mails/hello.txt": "Objet : Bonjour\n\nCorps du message."}),
        autoescape=select_autoescape(["html"]),
    )
    storage = LocalStorage(home)  # attachments are read from the asset storage
    (home / "acte.pdf").write_bytes(b"%PDF-1.4 test")
    async with application_lane(database) as lane:
        sessions = lane.session
        async with sessions() as session:
            message = await queue_mail(
                session, templates, ["rl@exemple.fr"], "hello", {}, ["acte.pdf"]
            )
            await session.commit()
            message_id = message.id

        # No server: the delivery fails, is counted, and the message stays queued.
        closed = free_port()
        async with sessions() as session:
            with pytest.raises(OSError, match=r"(?i)connect"):
                await deliver(session, message_id, settings(closed), SEAL, storage)
        async with sessions() as session:
            stored = await session.get(OutboxMessage, message_id)
            assert stored is not None
            assert (stored.status, stored.attempts) == ("queued", 1)
            assert stored.last_error

        # The server is back: the retry sends it, with its attachment.
        inbox = Inbox()
        controller = Controller(inbox, hostname="127.0.0.1", port=closed)
        controller.start()
        try:
            async with sessions() as session:
                assert await deliver(session, message_id, settings(closed), SEAL, storage) == "sent"
        finally:
            controller.stop()
        (received,) = inbox.messages
        assert received["Subject"] == "Bonjour"
        parts = [part.get_filename() for part in received.walk() if part.get_filename()]
        assert parts == ["acte.pdf"]
        async with sessions() as session:
            assert (
                await deliver(session, message_id, settings(closed), SEAL, storage) == "sent"
            )  # not sent twice

        # After the last allowed attempt the message is marked failed, and kept.
        async with sessions() as session:
            other = await queue_mail(session, templates, ["x@exemple.fr"], "hello", {})
            await session.commit()
        async with sessions() as session:
            assert (
                await deliver(session, other.id, settings(free_port(), max_attempts=1), SEAL)
                == "failed"
            )
        async with sessions() as session:
            kept = await session.get(OutboxMessage, other.id)
            assert kept is not None and kept.status == "failed" and kept.body
