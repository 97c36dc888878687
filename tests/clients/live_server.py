"""The real app served by uvicorn on a loopback port, inside the test's event loop.

Clients that are not Python (Node's Apollo Client, browsers) need a real socket; serving
from the test's own loop keeps the server's lifespan, pools and logs in this process.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn

from core.settings import Settings
from service.app import create_app


@asynccontextmanager
async def live_server(settings: Settings) -> AsyncIterator[str]:
    """Serve the app for `settings`; yields its base URL (http://127.0.0.1:<port>)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(create_app(settings), log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        while not server.started:
            if serving.done():
                serving.result()  # raises the start-up error
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving
        listener.close()
