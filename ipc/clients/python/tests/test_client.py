"""durationd_client.Client against the real daemon (and, for what the daemon never
does, against small fake servers): ops, pipelining, timeouts, reconnects, framing."""

from __future__ import annotations

import datetime as dt
import os
import socket
import tempfile
import time
import unittest
from typing import Callable
from unittest import mock

import msgpack

import durationd_client as dc
from daemon_harness import Daemon, DaemonTestCase
from fake_server import FakeServer, frame

UTC = dt.timezone.utc


class OpsTest(DaemonTestCase):
    def setUp(self) -> None:
        self.client = dc.Client(self.daemon.socket_path)

    def tearDown(self) -> None:
        self.client.close()

    def test_ping_and_hello(self) -> None:
        self.assertEqual(self.client.ping(), "pong")
        hello = self.client.hello()
        self.assertEqual(hello["server"], "durationd")
        self.assertEqual(hello["protocol"], 1)
        self.assertEqual(hello["uid"], os.geteuid())
        self.assertEqual(hello["max_frame"], dc.MAX_FRAME)

    def test_cache_round_trips_every_value_type(self) -> None:
        value = {
            "nil": None, "bool": True, "int": -(2**63), "big": 2**64 - 1, "float": 2.0, "str": "héllo",
            "bin": b"\x00\xff", "list": [1, [2, 3]], "tuple": (4, 5), 7: "int key",
            "when": dt.datetime(2026, 3, 1, 9, 30, 0, 123456, tzinfo=UTC),
        }
        self.assertEqual(self.client.cache_put("types", value, ttl_ms=60_000, ns="py.ops"), {"stored": True})
        got = self.client.cache_get("types", ns="py.ops")
        expected = dict(value, tuple=[4, 5])  # msgpack has one array type
        self.assertEqual(got["value"], expected)
        self.assertIsInstance(got["value"]["float"], float)
        self.assertIsInstance(got["value"]["bin"], bytes)
        self.assertTrue(0 < got["ttl_ms"] <= 60_000)
        self.assertEqual(self.client.cache_del("types", ns="py.ops"), {"deleted": True})
        self.assertEqual(self.client.cache_del("types", ns="py.ops"), {"deleted": False})

    def test_timestamps_exact_with_datetimes_off(self) -> None:
        exact = msgpack.Timestamp(1_700_000_000, 123_456_789)  # nanoseconds: more than datetime holds
        with dc.Client(self.daemon.socket_path, datetimes=False) as client:
            client.cache_put("ts", exact, ns="py.ops")
            self.assertEqual(client.cache_get("ts", ns="py.ops")["value"], exact)

    def test_cache_clear_and_stats(self) -> None:
        for i in range(3):
            self.client.cache_put(f"k{i}", i, ns="py.clear")
        self.client.cache_put("other", 1, ns="py.keep")
        self.assertEqual(self.client.cache_clear(ns="py.clear"), {"deleted": 3})
        self.assertEqual(self.client.cache_get("other", ns="py.keep")["value"], 1)
        stats = self.client.cache_stats()
        for field in ("entries", "bytes", "hits", "misses", "evictions", "expired"):
            self.assertIsInstance(stats[field], int, field)

    def test_timer_session_lifecycle(self) -> None:
        before = dt.datetime.now(UTC) - dt.timedelta(seconds=5)
        s = self.client.timer_start("write tests", tags=["work", "py"], planned_ms=1_500_000, note="n")
        self.assertEqual((s["task"], s["state"], s["planned_ms"]), ("write tests", "running", 1_500_000))
        self.assertEqual(sorted(s["tags"]), ["py", "work"])
        self.assertIsInstance(s["started_at"], dt.datetime)
        self.assertEqual(s["started_at"].tzinfo, UTC)
        sid = s["id"]
        self.assertEqual(self.client.timer_pause(sid)["state"], "paused")
        self.assertEqual(self.client.timer_resume(sid)["state"], "running")
        interrupted = self.client.timer_interrupt(sid, reason="phone")
        self.assertEqual([i["reason"] for i in interrupted["interruptions"]], ["phone"])
        self.assertEqual(self.client.timer_interrupt(sid, brief=True)["interruption_count"], 2)
        stopped = self.client.timer_stop(sid, focus=4, note="done")
        self.assertEqual((stopped["state"], stopped["focus"], stopped["note"]), ("completed", 4, "done"))
        self.assertEqual(self.client.timer_get(sid)["id"], sid)
        listed = self.client.timer_list(from_=before, tag="py")
        self.assertIn(sid, [x["id"] for x in listed["sessions"]])
        self.assertEqual(self.client.timer_list(to=before)["sessions"], [])
        stats = self.client.timer_stats("task", from_=before)
        self.assertIn("write tests", [g["key"] for g in stats["groups"]])
        self.assertGreaterEqual(stats["totals"]["completed"], 1)
        self.assertEqual(self.client.timer_delete(sid), {"deleted": True})
        with self.assertRaises(dc.NotFoundError):
            self.client.timer_get(sid)

    def test_admin_status(self) -> None:  # the tests run as root, an admin
        status = self.client.admin_status()
        self.assertEqual(status["pid"], self.daemon.proc.pid)
        self.assertGreaterEqual(status["connections"]["current"], 1)

    def test_call_any_op(self) -> None:
        self.assertEqual(self.client.call("ping"), "pong")
        self.assertEqual(self.client.call("cache.put", {"key": "c", "value": 1, "ns": None}), {"stored": True})

    def test_frames_larger_than_one_read(self) -> None:
        big = os.urandom(5 * 1024 * 1024)
        self.client.cache_put("big", big, ns="py.big")
        self.assertEqual(self.client.cache_get("big", ns="py.big")["value"], big)

    def test_request_over_max_frame_is_refused_before_sending(self) -> None:
        with dc.Client(self.daemon.socket_path, max_frame=1000) as client:
            with self.assertRaises(dc.TooLargeError) as caught:
                client.cache_put("k", "x" * 2000)
            self.assertIn("nothing was sent", caught.exception.message)
            self.assertEqual(client.ping(), "pong")  # the connection is still in step

    def test_unencodable_args_raise_type_error_and_send_nothing(self) -> None:
        for bad in (object(), {1, 2}, dt.datetime(2026, 1, 1), 2**64):
            with self.assertRaises(TypeError, msg=repr(bad)):
                self.client.cache_put("k", bad)
        self.assertEqual(self.client.ping(), "pong")


class PipelineTest(DaemonTestCase):
    def test_results_come_back_in_order_with_errors_in_place(self) -> None:
        with dc.Client(self.daemon.socket_path) as client:
            with client.pipeline() as p:
                for i in range(200):
                    p.cache_put(f"k{i}", i, ns="py.pipe")
                    p.cache_get(f"k{i}", ns="py.pipe")
                p.cache_get("absent", ns="py.pipe").ping()
                self.assertEqual(len(p), 402)
                results = p.execute()
            self.assertEqual(len(results), 402)
            for i in range(200):
                self.assertEqual(results[2 * i], {"stored": True})
                self.assertEqual(results[2 * i + 1]["value"], i)
            self.assertIsInstance(results[400], dc.NotFoundError)
            self.assertEqual(results[401], "pong")
            self.assertEqual(client.ping(), "pong")  # still in step afterwards

    def test_raise_on_error_raises_the_first_error_after_reading_all(self) -> None:
        with dc.Client(self.daemon.socket_path) as client:
            p = client.pipeline()
            p.call("no.such.op").cache_get("absent", ns="py.pipe").cache_put("after", 1, ns="py.pipe")
            with self.assertRaises(dc.UnknownOpError):
                p.execute(raise_on_error=True)
            self.assertEqual(client.cache_get("after", ns="py.pipe")["value"], 1)
            self.assertEqual(client.ping(), "pong")

    def test_large_requests_and_answers_both_ways_do_not_deadlock(self) -> None:
        # Sending everything before reading would stall: the daemon stops reading while
        # its answers (256 KiB each) wait for us, and we would still be sending.
        value = os.urandom(256 * 1024)
        with dc.Client(self.daemon.socket_path, timeout=60) as client:
            p = client.pipeline()
            for i in range(40):
                p.cache_put(f"v{i}", value, ns="py.both").cache_get(f"v{i}", ns="py.both")
            results = p.execute(raise_on_error=True)
        self.assertTrue(all(r["value"] == value for r in results[1::2]))

    def test_leaving_the_block_discards_what_was_not_executed(self) -> None:
        with dc.Client(self.daemon.socket_path) as client:
            with client.pipeline() as p:
                p.cache_put("never", 1, ns="py.discard")
            self.assertEqual(len(p), 0)
            with self.assertRaises(dc.NotFoundError):
                client.cache_get("never", ns="py.discard")

    def test_empty_pipeline(self) -> None:
        with dc.Client(self.daemon.socket_path) as client:
            self.assertEqual(client.pipeline().execute(), [])


class ConnectionTest(unittest.TestCase):
    def test_default_socket_is_durationd_socket_else_run(self) -> None:
        with mock.patch.dict(os.environ, {"DURATIOND_SOCKET": "/tmp/elsewhere.sock"}):
            self.assertEqual(dc.default_socket_path(), "/tmp/elsewhere.sock")
            self.assertEqual(dc.Client(connect=False).socket_path, "/tmp/elsewhere.sock")
        with mock.patch.dict(os.environ, {"DURATIOND_SOCKET": ""}):
            self.assertEqual(dc.default_socket_path(), "/run/durationd/durationd.sock")
        with mock.patch.dict(os.environ):
            os.environ.pop("DURATIOND_SOCKET", None)
            self.assertEqual(dc.default_socket_path(), "/run/durationd/durationd.sock")

    def test_default_socket_reaches_the_daemon(self) -> None:
        daemon = Daemon()
        try:
            with mock.patch.dict(os.environ, {"DURATIOND_SOCKET": daemon.socket_path}):
                with dc.Client() as client:
                    self.assertEqual(client.ping(), "pong")
                with dc.DurationCache() as cache:
                    self.assertEqual(cache.stats()["entries"], 0)
        finally:
            daemon.close()

    def test_no_daemon_is_a_connection_error(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            with self.assertRaises(dc.DurationdConnectionError) as caught:
                dc.Client(os.path.join(d, "none.sock"))
            self.assertIsInstance(caught.exception, ConnectionError)
            self.assertIn("none.sock", str(caught.exception))

    def test_context_manager_closes_the_socket(self) -> None:
        daemon = Daemon()
        try:
            with dc.Client(daemon.socket_path) as client:
                client.ping()
                sock = client._sock
                self.assertFalse(client.closed)
            self.assertTrue(client.closed)
            self.assertEqual(sock.fileno(), -1)
        finally:
            daemon.close()

    def test_timeout_when_the_server_never_answers(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "silent.sock")
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as silent:
                silent.bind(path)
                silent.listen(1)  # accepts nothing, answers nothing
                client = dc.Client(path, timeout=0.2)
                self.addCleanup(client.close)
                started = time.monotonic()
                with self.assertRaises(dc.DurationdTimeoutError) as caught:
                    client.ping()
                self.assertIsInstance(caught.exception, TimeoutError)
                self.assertLess(time.monotonic() - started, 20)
                self.assertTrue(client.closed)  # out of step: closed

    def test_reconnects_after_a_daemon_restart(self) -> None:
        daemon = Daemon()
        try:
            client = dc.Client(daemon.socket_path)
            self.addCleanup(client.close)
            client.cache_put("kept", "across restarts", durable=True, ns="py.restart")
            stuck = dc.Client(daemon.socket_path, reconnect=False)
            self.addCleanup(stuck.close)
            stuck.ping()
            daemon.stop()
            daemon.start()
            self.assertEqual(client.cache_get("kept", ns="py.restart")["value"], "across restarts")
            with self.assertRaises(dc.DurationdConnectionError):
                stuck.ping()
        finally:
            daemon.close()


class FramingTest(unittest.TestCase):
    """The daemon never sends these; a fake server does, and the client must cope."""

    def run_against(self, answer: Callable[[int, socket.socket], None], timeout: float = 10) -> dc.Client:
        server = FakeServer(answer)
        self.addCleanup(server.close)
        client = dc.Client(server.path, timeout=timeout)
        self.addCleanup(client.close)
        return client

    def test_answer_arriving_one_byte_at_a_time(self) -> None:
        def trickle(rid: int, conn: socket.socket) -> None:
            for b in frame({"id": rid, "ok": True, "result": {"value": "x" * 300, "ttl_ms": None}}):
                conn.sendall(bytes([b]))
        client = self.run_against(trickle)
        self.assertEqual(client.cache_get("k")["value"], "x" * 300)

    def test_malformed_frames_are_protocol_errors(self) -> None:
        cases = {
            "zero length": lambda rid: b"\x00\x00\x00\x00",
            "length over max_frame": lambda rid: (dc.MAX_FRAME + 1).to_bytes(4, "big"),
            "not msgpack": lambda rid: b"\x00\x00\x00\x01\xc1",
            "two objects in one frame": lambda rid: b"\x00\x00\x00\x02\xc0\xc0",
            "not a map": lambda rid: frame([rid, True]),
            "no ok": lambda rid: frame({"id": rid, "result": 1}),
            "ok without result": lambda rid: frame({"id": rid, "ok": True}),
            "error without code": lambda rid: frame({"id": rid, "ok": False, "error": {"message": "m"}}),
            "wrong id": lambda rid: frame({"id": rid + 7, "ok": True, "result": 1}),
            "ok without id": lambda rid: frame({"ok": True, "result": 1}),
            "negative id": lambda rid: frame({"id": -1, "ok": True, "result": 1}),
            "closed mid-frame": lambda rid: frame({"id": rid, "ok": True, "result": 1})[:-1],
        }
        for name, payload in cases.items():
            with self.subTest(name):
                def answer(rid: int, conn: socket.socket, payload=payload) -> None:
                    conn.sendall(payload(rid))
                    conn.shutdown(socket.SHUT_WR)
                client = self.run_against(answer)
                with self.assertRaises(dc.ProtocolError):
                    client.ping()
                self.assertTrue(client.closed)

    def test_closed_without_an_answer_is_a_connection_error(self) -> None:
        client = self.run_against(lambda rid, conn: conn.shutdown(socket.SHUT_RDWR))
        with self.assertRaises(dc.DurationdConnectionError):
            client.ping()


if __name__ == "__main__":
    unittest.main()
