"""A FastAPI service that places calls with AsyncClient and receives their call-end callbacks.

``POST /calls`` places a callback call through ``yunxin_ecp.AsyncClient`` (on httpx, one client
for the whole service, opened and closed with the app). ``POST /ecp/callback`` is the URL YunXin
posts call-end records to: the ``verified_callback`` dependency checks the signature on the raw
body and hands the endpoint the verified event; forged or stale callbacks never reach it (403).
The service may deliver a record more than once, so each session is processed once.

    YUNXIN_APP_KEY=... YUNXIN_APP_SECRET=... python examples/python/fastapi_service.py --port 8000
    python examples/python/fastapi_service.py --demo   # against a local mock of the service

``--demo`` runs the service on an ephemeral port of 127.0.0.1 under uvicorn, with a local mock
of the ECP service whose callbacks come back to it, places a call through ``POST /calls``, waits
for its callback, and shows that a forged one is refused.
"""

import argparse
import asyncio
import socket
import sys
from contextlib import asynccontextmanager
from typing import AsyncIterator, Dict, List, Optional

import httpx
import uvicorn
from fastapi import Depends, FastAPI
from pydantic import BaseModel

from yunxin_ecp import (
    AsyncClient,
    CallbackEvent,
    CallbackVerifier,
    CallEndEvent,
    CallRecord,
    Credentials,
    YunxinError,
    sign_callback,
)
from yunxin_ecp.integrations.fastapi import CallbackAnswered, callback_refused_handler, verified_callback
from yunxin_ecp.testing import MockServer


class CallRequest(BaseModel):
    caller_acc: str
    caller: str
    callee: str
    max_dur: int = 100


class Received:
    """The call-end records the service processed, one per session."""

    def __init__(self) -> None:
        self.records: Dict[str, CallRecord] = {}
        self.duplicates = 0
        self.changed = asyncio.Condition()

    async def add(self, record: CallRecord) -> None:
        async with self.changed:
            if record.session in self.records:
                self.duplicates += 1
            elif record.session is not None:
                self.records[record.session] = record
            self.changed.notify_all()

    async def wait_for(self, session: str, timeout: float) -> CallRecord:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(lambda: session in self.records), timeout)
            return self.records[session]


def create_app(credentials: Credentials, base_url: str) -> FastAPI:
    received = Received()
    clients: List[AsyncClient] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # One client for the service: its connection pool is shared by every request.
        async with AsyncClient(credentials=credentials, base_url=base_url) as client:
            clients.append(client)
            yield

    app = FastAPI(lifespan=lifespan, exception_handlers={CallbackAnswered: callback_refused_handler})
    app.state.received = received
    verify = verified_callback(CallbackVerifier(credentials))

    @app.post("/calls")
    async def place_call(call: CallRequest) -> Dict[str, str]:
        try:
            started = await clients[0].start_call(
                caller_acc=call.caller_acc, caller=call.caller, callee=call.callee, max_dur=call.max_dur
            )
        except YunxinError as e:
            # e.retry_advice == "outcome_unknown": the call may exist; query it, do not resend.
            return {"error": str(e), "retry_advice": e.retry_advice}
        return {"session": started.session}

    @app.post("/ecp/callback")
    # scope="function" (FastAPI 0.121 or later): the delivery is recorded as handled before the
    # answer goes out, so a redelivery right behind it is a duplicate, not "in progress" (409).
    async def ecp_callback(event: CallbackEvent = Depends(verify, scope="function")) -> Dict[str, str]:
        if isinstance(event, CallEndEvent):
            await received.add(event.record)  # answer at once: slow work belongs on a queue
        return {}

    return app


def listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)  # connections wait in the backlog until uvicorn accepts them
    return sock


async def demo() -> int:
    sock = listening_socket()
    port = int(sock.getsockname()[1])
    service_url = f"http://127.0.0.1:{port}"
    with MockServer(callback_url=f"{service_url}/ecp/callback", duplicate_callbacks=True) as mock:
        app = create_app(mock.credentials, mock.base_url)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            async with httpx.AsyncClient(base_url=service_url, trust_env=False, timeout=10) as http:
                answer = (await http.post("/calls", json={
                    "caller_acc": "liuxuanlin", "caller": "13888888888", "callee": "13777777777",
                })).json()
                session: Optional[str] = answer.get("session")
                if session is None:
                    print(f"not placed: {answer}", file=sys.stderr)
                    return 1
                print(f"placed through POST /calls: session {session}")
                record = await app.state.received.wait_for(session, timeout=10)
                print(
                    f"callback verified: session {record.session}, answered={record.answered}, "
                    f"{record.billed_minutes} min, {record.cost} yuan"
                )
                deliveries = await asyncio.to_thread(mock.wait_for_callbacks, 2, timeout=10)
                statuses = sorted({str(d.status) for d in deliveries})
                print(f"{len(deliveries)} deliveries (answered {', '.join(statuses)})")
                # A forged callback: a body the mock never signed, under the mock's signature.
                genuine = deliveries[0]
                forged = await http.post("/ecp/callback", content=genuine.body.replace(b"SUCCESS", b"FAILURE"),
                                         headers=genuine.headers)
                print(f"forged callback: HTTP {forged.status_code} {forged.json()}")
                stranger = sign_callback(Credentials(mock.credentials.app_key, "not-the-secret"), genuine.body)
                wrong = await http.post("/ecp/callback", content=genuine.body, headers=stranger)
                print(f"wrong secret: HTTP {wrong.status_code} {wrong.json()}")
                processed, duplicates = len(app.state.received.records), app.state.received.duplicates
                guarded = len(deliveries) - processed - duplicates
                print(f"{processed} processed, {guarded} repeat answered by the duplicate guard, "
                      f"{duplicates} skipped by session")
                ok = forged.status_code == 403 and wrong.status_code == 403 and processed == 1
                return 0 if ok and all(d.status == 200 for d in deliveries) else 1
        finally:
            server.should_exit = True
            await serving


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--base-url", default="https://api.netease.im")
    parser.add_argument("--demo", action="store_true", help="run against a local mock and exit")
    args = parser.parse_args()
    if args.demo:
        return asyncio.run(demo())
    uvicorn.run(create_app(Credentials.from_env(), args.base_url), host="0.0.0.0", port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
