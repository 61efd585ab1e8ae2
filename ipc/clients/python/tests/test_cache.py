"""durationd_client.DurationCache, the drop-in for the old app's pickle caches, against
the real daemon."""

from __future__ import annotations

import datetime as dt
import threading
import time
import unittest

import durationd_client as dc
from daemon_harness import DaemonTestCase

UTC = dt.timezone.utc


class DurationCacheTest(DaemonTestCase):
    def setUp(self) -> None:
        # Each test its own namespace, emptied first.
        namespace = "py." + self._testMethodName.removeprefix("test_").replace("_", "-")[:50]
        self.cache = dc.DurationCache(namespace, socket_path=self.daemon.socket_path)
        self.cache.clear()

    def tearDown(self) -> None:
        self.cache.close()

    def test_get_set_contains_delete(self) -> None:
        self.assertIsNone(self.cache.get("report"))
        self.assertEqual(self.cache.get("report", "fallback"), "fallback")
        self.assertNotIn("report", self.cache)
        self.cache.set("report", {"rows": [1, 2, 3], "title": "weekly"})
        self.assertIn("report", self.cache)
        self.assertEqual(self.cache.get("report"), {"rows": [1, 2, 3], "title": "weekly"})
        self.assertIsNone(self.cache.ttl("report"))
        self.assertTrue(self.cache.delete("report"))
        self.assertFalse(self.cache.delete("report"))
        self.assertNotIn("report", self.cache)

    def test_stored_none_is_not_a_miss(self) -> None:
        self.cache.set("nothing", None)
        self.assertIn("nothing", self.cache)
        self.assertIsNone(self.cache.get("nothing", "fallback"))

    def test_mapping_syntax(self) -> None:
        self.cache["a"] = 1
        self.assertEqual(self.cache["a"], 1)
        del self.cache["a"]
        with self.assertRaises(KeyError):
            self.cache["a"]
        with self.assertRaises(KeyError):
            del self.cache["a"]
        self.assertNotIn(42, self.cache)  # not a str: never a key

    def test_clear_only_touches_its_namespace(self) -> None:
        other = dc.DurationCache("py.other-namespace", client=self.cache.client)
        other.set("x", "kept")
        self.cache.set("x", "dropped")
        self.cache.set("y", "dropped")
        self.assertEqual(self.cache.clear(), 2)
        self.assertNotIn("x", self.cache)
        self.assertEqual(other.get("x"), "kept")
        other.clear()

    def test_ttl_expiry(self) -> None:
        self.cache.set("short", "soon gone", ttl=2)
        self.cache.set("forever", "stays")
        remaining = self.cache.ttl("short")
        self.assertIsNotNone(remaining)
        self.assertTrue(0 < remaining <= 2, remaining)
        deadline = time.monotonic() + 30  # expiry is checked on read; give a loaded machine room
        while "short" in self.cache and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertNotIn("short", self.cache)
        with self.assertRaises(KeyError):
            self.cache.ttl("short")
        self.assertEqual(self.cache.get("forever"), "stays")

    def test_default_ttl_and_timedelta(self) -> None:
        cache = dc.DurationCache(self.cache.namespace, client=self.cache.client, default_ttl=dt.timedelta(hours=1))
        cache.set("d", 1)
        self.assertTrue(3000 < cache.ttl("d") <= 3600)
        cache.set("e", 1, ttl=60)
        self.assertTrue(0 < cache.ttl("e") <= 60)
        for bad in (0, -1, float("inf"), float("nan")):
            with self.assertRaises(ValueError, msg=repr(bad)):
                cache.set("bad", 1, ttl=bad)
        with self.assertRaises(TypeError):
            cache.set("bad", 1, ttl="60")

    def test_get_many_and_set_many(self) -> None:
        self.cache.set_many({"a": 1, "b": [2], "c": {"three": 3}}, ttl=600)
        self.assertEqual(self.cache.get_many(["a", "c", "missing", "b"]), {"a": 1, "c": {"three": 3}, "b": [2]})
        self.assertTrue(0 < self.cache.ttl("b") <= 600)

    def test_datetimes_round_trip(self) -> None:
        when = dt.datetime(2026, 3, 1, 9, 30, 0, 250000, tzinfo=dt.timezone(dt.timedelta(hours=2)))
        self.cache.set("when", {"at": when})
        got = self.cache.get("when")["at"]
        self.assertEqual(got, when)
        self.assertEqual(got.tzinfo, UTC)

    def test_non_msgpack_values_are_type_errors(self) -> None:
        class Report:
            pass

        for bad in (Report(), {1, 2}, frozenset(), dt.datetime(2026, 1, 1), 2**64, [1, object()], {"k": Report()}):
            with self.subTest(type(bad).__name__):
                with self.assertRaises(TypeError) as caught:
                    self.cache.set("bad", bad)
                self.assertRegex(str(caught.exception), "msgpack|time zone")
        self.assertNotIn("bad", self.cache)
        with self.assertRaises(TypeError):
            self.cache.set(b"bytes key", 1)

    def test_memoize_calls_the_function_once(self) -> None:
        calls: list[tuple] = []

        @self.cache.memoize(ttl=600)
        def load(path: str, *, scale: int = 1) -> tuple:
            calls.append((path, scale))
            return (path, scale * 2)

        self.assertEqual(load("a.csv", scale=2), ["a.csv", 4])  # as the cache gives it back
        self.assertEqual(load("a.csv", scale=2), ["a.csv", 4])
        self.assertEqual(calls, [("a.csv", 2)])
        load("b.csv", scale=2)
        self.assertEqual(len(calls), 2)
        self.assertTrue(0 < self.cache.ttl(load.cache_key("a.csv", scale=2)) <= 600)
        self.assertTrue(load.invalidate("a.csv", scale=2))
        load("a.csv", scale=2)
        self.assertEqual(len(calls), 3)
        self.assertEqual(load.__name__, "load")

    def test_memoize_keys_are_stable(self) -> None:
        calls = []

        @self.cache.memoize()
        def f(options: dict, **kwargs: int) -> int:
            calls.append(1)
            return len(options) + len(kwargs)

        f({"a": 1, "b": 2}, x=1, y=2)
        f({"b": 2, "a": 1}, y=2, x=1)  # same arguments, built in another order
        self.assertEqual(len(calls), 1)
        self.assertEqual(f.cache_key({"a": 1, "b": 2}, x=1, y=2), f.cache_key({"b": 2, "a": 1}, y=2, x=1))
        self.assertNotEqual(f.cache_key({"a": 1}), f.cache_key({"a": 1.0}))
        self.assertNotEqual(f.cache_key({"a": 1}), f.cache_key({"a": True}))
        key = f.cache_key({})
        self.assertTrue(key.startswith(f"memoize:{__name__}."))
        self.assertLessEqual(len(key.encode()), 1024)

    def test_memoize_caches_none(self) -> None:
        calls = []

        @self.cache.memoize()
        def nothing() -> None:
            calls.append(1)

        nothing()
        nothing()
        self.assertEqual(len(calls), 1)

    def test_memoize_rejects_non_msgpack_arguments_and_results(self) -> None:
        calls = []

        @self.cache.memoize(key_prefix="py.reject")
        def f(x: object) -> object:
            calls.append(x)
            return object() if x == "bad result" else x

        with self.assertRaises(TypeError):
            f(object())
        self.assertEqual(calls, [])  # never called with an argument it cannot key on
        with self.assertRaises(TypeError):
            f("bad result")
        self.assertNotIn(f.cache_key("bad result"), self.cache)

    def test_threads_share_one_cache(self) -> None:
        errors: list[BaseException] = []

        def work(n: int) -> None:
            try:
                for i in range(50):
                    self.cache.set(f"t{n}-{i}", [n, i])
                    if self.cache.get(f"t{n}-{i}") != [n, i]:
                        raise AssertionError(f"t{n}-{i}")
            except BaseException as e:  # noqa: BLE001 - checked in the main thread
                errors.append(e)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(len(self.cache.get_many(f"t{n}-{i}" for n in range(8) for i in range(50))), 400)


if __name__ == "__main__":
    unittest.main()
