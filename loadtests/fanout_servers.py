"""The bare servers Engage's sockets are measured against (loadtests/realtime_fanout.py, chat_load.py).

python loadtests/fanout_servers.py bare PORT REDIS_URL TOPIC
    a bare `websockets` server: every Redis pub/sub message on TOPIC goes out with websockets.broadcast()
python loadtests/fanout_servers.py socketio PORT REDIS_URL TOPIC
    python-socketio (ASGI, uvicorn) with its Redis manager: emit() on any process reaches every client
python loadtests/fanout_servers.py relay PORT
    a bare `websockets` chat relay: the sockets of `/?c=ID` form one conversation; each `chat.send` is
    numbered (one counter per conversation), acknowledged to its sender and sent to every socket of the
    conversation, in Engage's frame shapes (docs/protocol.md), with nothing stored
"""

from __future__ import annotations

import asyncio
import sys


async def bare(port: int, redis_url: str, topic: str) -> None:
    import websockets
    from redis.asyncio import Redis

    clients: set = set()

    async def handler(ws) -> None:  # type: ignore[no-untyped-def]
        clients.add(ws)
        try:
            await ws.wait_closed()
        finally:
            clients.discard(ws)

    redis = Redis.from_url(redis_url)
    pubsub = redis.pubsub()
    await pubsub.subscribe(topic)
    async with websockets.serve(handler, "127.0.0.1", port, compression=None, max_queue=None, backlog=4096):
        print("ready", flush=True)
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is not None:
                websockets.broadcast(clients, message["data"].decode())


async def relay(port: int) -> None:
    import json
    from urllib.parse import parse_qs, urlsplit

    import websockets

    rooms: dict[str, list] = {}
    counters: dict[str, int] = {}

    async def handler(ws) -> None:  # type: ignore[no-untyped-def]
        room = parse_qs(urlsplit(ws.request.path).query)["c"][0]
        peers = rooms.setdefault(room, [])
        peers.append(ws)
        try:
            await ws.send('{"type":"welcome"}')
            async for raw in ws:
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "chat.send":
                    seq = counters[room] = counters.get(room, 0) + 1
                    cid, client_id = frame["conversation_id"], frame.get("client_id")
                    ack = {"conversation_id": cid, "seq": seq, "client_id": client_id, "duplicate": False}
                    await ws.send(
                        json.dumps({"type": "reply", "id": frame.get("id"), "for": kind, "data": ack})
                    )
                    message = {"client_id": client_id, "text": frame["text"], "seq": seq, "kind": "message"}
                    event = {"conversation_id": cid, "seq": seq, "message": message}
                    websockets.broadcast(
                        peers,
                        json.dumps(
                            {
                                "epoch": "relay",
                                "seq": seq,
                                "type": "event",
                                "channel": f"conversation:{cid}",
                                "event": "chat.message",
                                "data": event,
                            }
                        ),
                    )
                elif kind == "subscribe":
                    answer = {"type": "subscribed", "id": frame.get("id"), "channel": frame["channel"]}
                    await ws.send(json.dumps({**answer, "epoch": "relay", "seq": counters.get(room, 0)}))
                elif kind == "ping":
                    await ws.send('{"type":"pong"}')
        finally:
            peers.remove(ws)

    async with websockets.serve(handler, "127.0.0.1", port, compression=None, max_queue=None, backlog=4096):
        print("ready", flush=True)
        await asyncio.Future()


def socketio_app(redis_url: str, topic: str):  # type: ignore[no-untyped-def]
    import socketio

    manager = socketio.AsyncRedisManager(redis_url, channel=topic)
    server = socketio.AsyncServer(async_mode="asgi", client_manager=manager, transports=["websocket"])
    return socketio.ASGIApp(server)


def main() -> None:
    kind, port = sys.argv[1], int(sys.argv[2])
    if kind == "relay":
        try:
            import uvloop

            uvloop.install()  # the loop uvicorn gives `engage serve`
        except ImportError:
            pass
        asyncio.run(relay(port))
        return
    redis_url, topic = sys.argv[3], sys.argv[4]
    if kind == "bare":
        asyncio.run(bare(port, redis_url, topic))
    elif kind == "socketio":
        import uvicorn

        print("ready", flush=True)
        uvicorn.run(
            socketio_app(redis_url, topic),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            ws_per_message_deflate=False,
            backlog=4096,
        )
    else:
        raise SystemExit(f"unknown server {kind!r}")


if __name__ == "__main__":
    main()
