"""Every error code of protocol.md maps to its own class: triggered on the real daemon
for each code it can be made to produce, and checked for all twelve (UNAVAILABLE and
INTERNAL included, which a healthy daemon never sends) against a fake server."""

from __future__ import annotations

import os
import socket
import unittest
from typing import Callable

import msgpack

import durationd_client as dc
from daemon_harness import Daemon, DaemonTestCase
from fake_server import FakeServer, frame

# protocol.md, "Error codes", in its order.
CONTRACT_CODES = [
    "BAD_FRAME", "BAD_REQUEST", "UNKNOWN_OP", "TOO_LARGE", "TOO_DEEP", "BAD_TYPE",
    "NOT_FOUND", "CONFLICT", "FORBIDDEN", "BUSY", "UNAVAILABLE", "INTERNAL",
]


class MappingTest(unittest.TestCase):
    def test_one_class_per_code_all_deriving_from_the_base(self) -> None:
        self.assertEqual(sorted(dc.ERROR_CLASSES), sorted(CONTRACT_CODES))
        classes = list(dc.ERROR_CLASSES.values())
        self.assertEqual(len(set(classes)), len(classes))
        for code, cls in dc.ERROR_CLASSES.items():
            self.assertTrue(issubclass(cls, dc.DurationdError), code)
            self.assertEqual(cls.code, code)
            self.assertIs(getattr(dc, cls.__name__), cls)

    def test_every_code_on_the_wire_raises_its_class(self) -> None:
        for code in CONTRACT_CODES + ["SOME_FUTURE_CODE"]:
            with self.subTest(code):
                def answer(rid: int, conn: socket.socket, code: str = code) -> None:
                    error = {"code": code, "message": f"about {code}", "hint": 7}
                    conn.sendall(frame({"id": rid, "ok": False, "error": error}))
                server = FakeServer(answer)
                try:
                    with dc.Client(server.path, timeout=10) as client:
                        with self.assertRaises(dc.DurationdError) as caught:
                            client.ping()
                        e = caught.exception
                        self.assertIs(type(e), dc.ERROR_CLASSES.get(code, dc.DurationdError))
                        self.assertEqual((e.code, e.message, e.details), (code, f"about {code}", {"hint": 7}))
                        self.assertEqual(e.request_id, server.requests[0]["id"])
                        self.assertEqual(str(e), f"{code}: about {code}")
                        self.assertFalse(client.closed)  # an error answer leaves the stream in step
                finally:
                    server.close()


class DaemonErrorsTest(DaemonTestCase):
    """The codes one peer can provoke from a daemon with the default configuration."""

    def setUp(self) -> None:
        self.client = dc.Client(self.daemon.socket_path)

    def tearDown(self) -> None:
        self.client.close()

    def assert_raises_code(self, cls: type[dc.DurationdError], call: Callable[[], object]) -> dc.DurationdError:
        with self.assertRaises(cls) as caught:
            call()
        self.assertEqual(caught.exception.code, cls.code)
        self.assertTrue(caught.exception.message)
        self.assertEqual(self.client.ping(), "pong")  # the connection keeps serving
        return caught.exception

    def test_bad_request(self) -> None:
        e = self.assert_raises_code(dc.BadRequestError, lambda: self.client.call("cache.get", {}))
        self.assertIn("key", e.message)
        self.assert_raises_code(dc.BadRequestError, lambda: self.client.cache_get("k", ns="not a namespace!"))
        self.assert_raises_code(dc.BadRequestError, lambda: self.client.timer_list(limit=1001))

    def test_unknown_op(self) -> None:
        self.assert_raises_code(dc.UnknownOpError, lambda: self.client.call("cache.frobnicate"))

    def test_too_large(self) -> None:
        self.assert_raises_code(dc.TooLargeError, lambda: self.client.cache_get("k" * 1025))
        huge = bytes(10 * 1024 * 1024)  # its msgpack encoding is 5 bytes over the limit
        self.assert_raises_code(dc.TooLargeError, lambda: self.client.cache_put("huge", huge))

    def test_too_deep(self) -> None:
        value: object = 0
        for _ in range(32):
            value = [value]
        self.client.cache_put("deep", value)  # 32 levels: allowed
        self.assert_raises_code(dc.TooDeepError, lambda: self.client.cache_put("deeper", [value]))

    def test_bad_type(self) -> None:
        self.assert_raises_code(dc.BadTypeError, lambda: self.client.cache_put("ext", msgpack.ExtType(5, b"x")))
        self.assert_raises_code(dc.BadTypeError, lambda: self.client.cache_put("key", {(1, 2): "tuple key"}))

    def test_not_found(self) -> None:
        self.assert_raises_code(dc.NotFoundError, lambda: self.client.cache_get("never stored"))
        self.assert_raises_code(dc.NotFoundError, lambda: self.client.timer_get(2**40))

    def test_conflict(self) -> None:
        session = self.client.timer_start("conflict test")
        try:
            self.assert_raises_code(dc.ConflictError, lambda: self.client.timer_start("a second one"))
            self.assert_raises_code(dc.ConflictError, lambda: self.client.timer_resume(session["id"]))
        finally:
            self.client.timer_stop(session["id"])
        self.assert_raises_code(dc.ConflictError, lambda: self.client.timer_stop(session["id"]))


class BadFrameTest(DaemonTestCase):
    config = {"max_frame": 4096}

    def test_frame_over_the_daemons_max_frame(self) -> None:
        client = dc.Client(self.daemon.socket_path)
        self.addCleanup(client.close)
        self.assertEqual(client.hello()["max_frame"], 4096)
        with self.assertRaises(dc.BadFrameError) as caught:
            client.cache_put("k", "x" * 5000)  # under the contract's limit, over this daemon's
        self.assertIsNone(caught.exception.request_id)  # answered without an id
        self.assertTrue(client.closed)  # the daemon closes after BAD_FRAME
        self.assertEqual(client.ping(), "pong")  # a new connection


class BusyTest(DaemonTestCase):
    config = {"max_connections_per_uid": 1}

    def test_over_the_connection_limit(self) -> None:
        with dc.Client(self.daemon.socket_path) as first:
            self.assertEqual(first.ping(), "pong")
            with dc.Client(self.daemon.socket_path, reconnect=False) as second:
                with self.assertRaises(dc.BusyError):
                    second.ping()
                with self.assertRaises(dc.DurationdConnectionError):
                    second.ping()  # the daemon closed it after answering BUSY
            self.assertEqual(first.ping(), "pong")


def as_uid(uid: int, run: Callable[[], str]) -> str:
    """`run()` in a forked child whose uid is `uid` (gid stays 0, so it can reach the
    root:root 0660 socket); what it returned, or the exception it raised, as text."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            os.setgroups([])
            os.setresuid(uid, uid, uid)
            outcome = run()
        except BaseException as e:  # noqa: BLE001 - reported to the parent
            outcome = f"{type(e).__name__}: {e}"
        os.write(write_end, outcome.encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as r:
        text = r.read().decode()
    os.waitpid(pid, 0)
    return text


@unittest.skipUnless(os.geteuid() == 0, "needs root to act as two other uids")
class ForbiddenTest(DaemonTestCase):
    ALLOWED, STRANGER = 65533, 65534
    config = {"allowed_uids": [ALLOWED]}

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        os.chmod(cls.daemon.dir, 0o750)  # group root may reach the socket

    def test_admin_op_by_a_non_admin(self) -> None:
        def run() -> str:
            with dc.Client(self.daemon.socket_path) as client:
                try:
                    client.admin_status()
                    return "allowed"
                except dc.ForbiddenError as e:
                    return f"{type(e).__name__} {e.code} then {client.ping()}"
        self.assertEqual(as_uid(self.ALLOWED, run), "ForbiddenError FORBIDDEN then pong")

    def test_peer_not_on_the_allow_list(self) -> None:
        def run() -> str:
            with dc.Client(self.daemon.socket_path, reconnect=False) as client:
                try:
                    client.ping()
                    return "allowed"
                except dc.ForbiddenError as e:
                    first = f"{type(e).__name__} {e.code}"
                try:
                    client.ping()
                    return f"{first} then allowed"
                except dc.DurationdConnectionError:
                    return f"{first} then closed"
        self.assertEqual(as_uid(self.STRANGER, run), "ForbiddenError FORBIDDEN then closed")


if __name__ == "__main__":
    unittest.main()
