"""A stand-in for durationd in tests of what the real daemon never sends."""

from __future__ import annotations

import os
import socket
import tempfile
import threading
from typing import Callable

import msgpack


class FakeServer:
    """A one-connection Unix socket server in a thread: `answer(request_id, conn)`
    writes whatever bytes the test wants for each request frame it reads."""

    def __init__(self, answer: Callable[[int, socket.socket], None]) -> None:
        self.dir = tempfile.TemporaryDirectory(prefix="durationd-fake-")
        self.path = os.path.join(self.dir.name, "fake.sock")
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        self.listener.listen(1)
        self.requests: list[dict] = []
        self.thread = threading.Thread(target=self._serve, args=(answer,), daemon=True)
        self.thread.start()

    def _serve(self, answer: Callable[[int, socket.socket], None]) -> None:
        conn, _ = self.listener.accept()
        with conn:
            while True:
                header = self._read(conn, 4)
                if header is None:
                    return
                body = self._read(conn, int.from_bytes(header, "big"))
                if body is None:
                    return
                request = msgpack.unpackb(body, raw=False)
                self.requests.append(request)
                answer(request["id"], conn)

    @staticmethod
    def _read(conn: socket.socket, n: int) -> bytes | None:
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def close(self) -> None:
        self.listener.close()
        self.thread.join(5)
        self.dir.cleanup()


def frame(obj: object) -> bytes:
    body = msgpack.packb(obj, use_bin_type=True)
    return len(body).to_bytes(4, "big") + body
