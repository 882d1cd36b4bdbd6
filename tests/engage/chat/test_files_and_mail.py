"""Attachments on disk and in S3 (moto's server on loopback), transcripts by mail (aiosmtpd on loopback), and
the retention export + purge."""

from __future__ import annotations

import asyncio
import email
import json
import os
import struct
import subprocess
import sys
import uuid
import zlib
from datetime import timedelta
from typing import Any

import boto3
import pytest
from aiosmtpd.controller import Controller
from arq.worker import Worker
from sqlalchemy import func, select, update

from engage.app import create_app
from engage.chat import conversations, messages, retention
from engage.chat.models import Attachment, Conversation, Message
from engage.platform.clock import utcnow
from engage.platform.identity import Role
from tests.conftest import ROOT, AppClient, free_port, running, settings_from
from tests.engage.chat.conftest import guest
from workers.settings import worker_settings


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
async def app_with(prod_env: dict[str, str], make_account: Any) -> Any:
    """An in-process app on this run's database and Redis, with settings overridden."""
    stack: list[Any] = []

    async def make(**overrides: Any) -> AppClient:
        app = create_app(settings_from(prod_env, **overrides))
        ctx = running(app)
        await ctx.__aenter__()
        client = AppClient(app, keep_cookies=False)
        stack.append((ctx, client))
        return client

    yield make
    for ctx, client in reversed(stack):
        await client.aclose()
        await ctx.__aexit__(None, None, None)


async def _exercise_attachments(client: AppClient, make_account: Any) -> tuple[int, int]:
    shopper, agent, other = (
        await make_account(Role.customer),
        await make_account(Role.agent),
        await make_account(Role.customer),
    )
    res = await client.post(
        "/api/chat/conversations",
        json={"text": "photo of the damage", "human": True},
        headers=shopper.headers,
    )
    cid = res.json()["conversation"]["id"]
    png = tiny_png()
    up = await client.post(
        f"/api/chat/conversations/{cid}/attachments?filename=../../etc/dent.jpeg&client_id=up-1&text=see%20this",
        content=png,
        headers=shopper.headers,
    )
    assert up.status_code == 201, up.text
    again = await client.post(
        f"/api/chat/conversations/{cid}/attachments?filename=dent.png&client_id=up-1",
        content=png,
        headers=shopper.headers,
    )
    assert again.status_code == 200 and again.json()["id"] == up.json()["id"], (
        "a re-sent upload is stored once"
    )

    items = (await client.get(f"/api/chat/conversations/{cid}/messages", headers=agent.headers)).json()[
        "items"
    ]
    sent = next(m for m in items if m["attachment"])
    assert sent["text"] == "see this"
    attachment = sent["attachment"]
    assert attachment["content_type"] == "image/png" and attachment["filename"] == "dent.png"  # by content
    for who in (shopper, agent):
        got = await client.get(attachment["url"], headers=who.headers)
        assert got.status_code == 200 and got.content == png
        assert (
            got.headers["content-type"] == "image/png" and got.headers["x-content-type-options"] == "nosniff"
        )
    assert (await client.get(attachment["url"], headers=other.headers)).status_code == 404
    assert (await client.get(attachment["url"])).status_code == 404, "a fresh visitor (guest) gets nothing"

    pdf = await client.post(
        f"/api/chat/conversations/{cid}/attachments?filename=invoice.pdf",
        content=PDF,
        headers=shopper.headers,
    )
    assert pdf.status_code == 201
    html = await client.post(
        f"/api/chat/conversations/{cid}/attachments?filename=pic.png",
        content=b"<html><script>alert(1)</script></html>",
        headers=shopper.headers,
    )
    assert html.status_code == 422 and html.json()["code"] == "attachment_type"
    svg = await client.post(
        f"/api/chat/conversations/{cid}/attachments?filename=a.svg",
        content=b"<svg xmlns=...>",
        headers=shopper.headers,
    )
    assert svg.status_code == 422
    big = await client.post(
        f"/api/chat/conversations/{cid}/attachments?filename=big.png",
        content=png + b"\0" * 5000,
        headers=shopper.headers,
    )
    assert big.status_code == 422 and big.json()["code"] == "attachment_too_large"
    intruder = await client.post(
        f"/api/chat/conversations/{cid}/attachments?filename=x.png", content=png, headers=other.headers
    )
    assert intruder.status_code == 404
    return cid, attachment["id"]


async def test_attachments_on_disk(app_with, make_account, tmp_path) -> None:
    client = await app_with(data_dir=tmp_path, attachment_max_bytes=4096)
    _, attachment_id = await _exercise_attachments(client, make_account)
    async with client.app.state.runtime.sessionmaker() as session:
        key = (await session.get(Attachment, attachment_id)).storage_key
    assert (tmp_path / "blobs" / key).read_bytes() == tiny_png()
    assert not list((tmp_path / "blobs").rglob("*.tmp"))


@pytest.fixture(scope="module")
def s3_server() -> Any:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.mark.slow
async def test_attachments_in_s3_compatible_storage(app_with, make_account, s3_server, tmp_path) -> None:
    bucket = f"chat-{uuid.uuid4().hex[:8]}"
    client = await app_with(
        data_dir=tmp_path,
        attachment_max_bytes=4096,
        s3_endpoint_url=s3_server,
        s3_bucket=bucket,
        s3_access_key="testing",
        s3_secret_key="testing",
    )
    _, attachment_id = await _exercise_attachments(client, make_account)
    async with client.app.state.runtime.sessionmaker() as session:
        key = (await session.get(Attachment, attachment_id)).storage_key
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_server,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == tiny_png()
    assert not (tmp_path / "blobs").exists(), "nothing went to disk"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Any:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()  # on a thread of its own
    yield controller, inbox
    controller.stop()


@pytest.mark.slow
async def test_transcript_by_email(app_with, make_account, smtp_server, prod_env) -> None:
    controller, inbox = smtp_server
    # the agent's reply also queues a "reply while you were away" push, deferred: a second, not half a minute
    overrides = {
        "smtp_host": "127.0.0.1",
        "smtp_port": controller.port,
        "mail_from": "help@luxia.test",
        "push_chat_delay_seconds": 1,
    }
    client = await app_with(**overrides)
    shopper, agent = await make_account(Role.customer), await make_account(Role.agent)
    cid = (
        await client.post(
            "/api/chat/conversations", json={"text": "hi there", "human": True}, headers=shopper.headers
        )
    ).json()["conversation"]["id"]
    await client.post(f"/api/chat/conversations/{cid}/take", headers=agent.headers)
    await client.post(
        f"/api/chat/conversations/{cid}/messages",
        json={"text": "internal: refund ok", "private": True},
        headers=agent.headers,
    )
    await client.post(
        f"/api/chat/conversations/{cid}/messages",
        json={"text": "Refund is on its way"},
        headers=agent.headers,
    )

    bad = await client.post(
        f"/api/chat/conversations/{cid}/transcript/email", json={"email": "nope"}, headers=shopper.headers
    )
    assert bad.status_code == 422
    res = await client.post(
        f"/api/chat/conversations/{cid}/transcript/email", json={}, headers=shopper.headers
    )
    assert res.status_code == 202 and res.json()["email"] == shopper.email
    # the job is on arq's queue in Redis: an `engage worker` (here in burst mode) sends it
    settings = worker_settings(settings_from(prod_env, **overrides))
    worker = Worker(**{**settings, "cron_jobs": []}, burst=True, poll_delay=0.05)  # just the queued jobs
    try:
        await worker.main()
    finally:
        await worker.close()
    mails = [m for m in inbox.messages if m["To"] == shopper.email]
    assert len(mails) == 1, [m["To"] for m in inbox.messages]
    mail = mails[0]
    assert mail["To"] == shopper.email and mail["From"] == "help@luxia.test"
    body = mail.get_payload()[0].get_payload(decode=True).decode()
    assert "Refund is on its way" in body and "hi there" in body and "internal: refund ok" not in body
    assert mail.get_payload()[1].get_filename().startswith(f"conversation-{cid}-")


@pytest.mark.slow
async def test_retention_exports_then_purges_old_conversations(runtime, env, tmp_path, prod_env) -> None:
    old_shopper, fresh_shopper = guest(), guest()
    async with runtime.sessionmaker() as session:
        old, _ = await conversations.start(session, env, old_shopper, human=True)
        await messages.post(session, env, old_shopper, old.id, text="an old question")
        fresh, _ = await conversations.start(session, env, fresh_shopper, human=True)
        await messages.post(session, env, fresh_shopper, fresh.id, text="a new question")
        key = f"chat/{old.id}/old.png"
        await env.blobs.put(key, tiny_png(), "image/png")
        session.add(
            Attachment(
                conversation_id=old.id,
                storage_key=key,
                filename="old.png",
                content_type="image/png",
                size=10,
                uploaded_by=old_shopper.owner_key,
            )
        )
        await session.execute(
            update(Conversation)
            .where(Conversation.id == old.id)
            .values(last_activity_at=utcnow() - timedelta(days=env.limits.retention_days + 1))
        )
        await session.commit()

    out = tmp_path / "export.jsonl"
    dry = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "engage.cli", "chat", "purge", "--export", str(out), "--dry-run"],
        cwd=ROOT,
        env={**os.environ, **prod_env, "ENGAGE_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert dry.returncode == 0, dry.stderr
    assert "exported (dry run)" in dry.stdout
    assert old.id in [json.loads(line)["id"] for line in out.read_text().splitlines()]
    async with runtime.sessionmaker() as session:
        assert await session.get(Conversation, old.id) is not None, "a dry run deletes nothing"

    # the periodic job's path, on this process's storage (the CLI path is the same function)
    written: list[bytes] = []

    async def write(data: bytes) -> None:
        written.append(data)

    report = await retention.export_and_purge(
        runtime.sessionmaker, env.blobs, retention_days=env.limits.retention_days, write=write
    )
    assert report.conversations >= 1 and report.attachments >= 1
    exported = [json.loads(line) for line in b"".join(written).decode().splitlines()]
    mine = next(r for r in exported if r["id"] == old.id)
    assert [m["text"] for m in mine["messages"]] == ["an old question"] and mine["attachments"][0][
        "filename"
    ] == "old.png"
    assert fresh.id not in [r["id"] for r in exported]
    async with runtime.sessionmaker() as session:
        assert await session.get(Conversation, old.id) is None
        assert (
            await session.scalar(
                select(func.count()).select_from(Message).where(Message.conversation_id == old.id)
            )
            == 0
        )
        assert await session.get(Conversation, fresh.id) is not None
    with pytest.raises(LookupError):
        await env.blobs.get(key)


async def test_nobody_online_the_shopper_leaves_an_email_and_the_later_reply_arrives_there(
    app_with, make_account, smtp_server, prod_env
) -> None:
    controller, inbox = smtp_server
    overrides = {
        "smtp_host": "127.0.0.1",
        "smtp_port": controller.port,
        "mail_from": "help@luxia.test",
        "push_chat_delay_seconds": 0,
    }
    client = await app_with(**overrides)
    shopper, agent = await make_account(Role.customer), await make_account(Role.agent)
    status = (await client.get("/api/chat/support-status")).json()
    assert status["agents_online"] == 0 and status["expected_wait_minutes"] is None
    assert status["office_hours"] and status["can_leave_email"] is True
    cid = (
        await client.post(
            "/api/chat/conversations",
            json={"text": "my parcel never came", "human": True},
            headers=shopper.headers,
        )
    ).json()["conversation"]["id"]
    bad = await client.post(
        f"/api/chat/conversations/{cid}/contact", json={"email": "nope"}, headers=shopper.headers
    )
    assert bad.status_code == 400
    left = await client.post(
        f"/api/chat/conversations/{cid}/contact", json={"email": "Ada@Example.test"}, headers=shopper.headers
    )
    assert left.status_code == 204
    assert (
        await client.post(
            f"/api/chat/conversations/{cid}/contact", json={"email": "x@y.zz"}, headers=agent.headers
        )
    ).status_code in (403, 404)

    # the next morning an agent answers; no widget is open: the answer goes to the email
    await client.post(f"/api/chat/conversations/{cid}/take", headers=agent.headers)
    await client.post(
        f"/api/chat/conversations/{cid}/messages",
        json={"text": "It is on its way: 1Z999"},
        headers=agent.headers,
    )
    settings = worker_settings(settings_from(prod_env, **overrides))
    worker = Worker(**{**settings, "cron_jobs": []}, burst=True, poll_delay=0.05)
    try:
        await worker.main()
    finally:
        await worker.close()
    mails = [m for m in inbox.messages if m["To"] == "ada@example.test"]
    assert len(mails) == 1, [m["To"] for m in inbox.messages]
    body = (
        mails[0].get_payload(decode=True).decode()
        if not mails[0].is_multipart()
        else mails[0].get_payload()[0].get_payload(decode=True).decode()
    )
    assert "It is on its way: 1Z999" in body


async def test_a_conversation_nobody_answered_is_not_rated(client, make_account) -> None:
    shopper = await make_account(Role.customer)
    cid = (
        await client.post(
            "/api/chat/conversations", json={"text": "hello?", "human": True}, headers=shopper.headers
        )
    ).json()["conversation"]["id"]
    await client.post(
        f"/api/chat/conversations/{cid}/status", json={"status": "resolved"}, headers=shopper.headers
    )
    res = await client.post(
        f"/api/chat/conversations/{cid}/rating", json={"score": 1}, headers=shopper.headers
    )
    assert res.status_code == 409 and res.json()["code"] == "not_answered", res.text
