"""Starts the real durationd for the Python tests, as tests/integration/daemon_process.cpp
does for the C++ ones: a temporary socket and state dir, the key in DURATIOND_KEY, and
READY=1 awaited on a NOTIFY_SOCKET datagram socket the test binds (never a sleep).

The daemon binary comes from $DURATIOND_BINARY (ctest sets it to $<TARGET_FILE:durationd>).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
from typing import Any

PASSPHRASE = "correct horse battery staple 2026"
# What the daemon under test must not inherit from ours.
_SCRUBBED = ("NOTIFY_SOCKET", "DURATIOND_KEY", "CREDENTIALS_DIRECTORY", "DURATIOND_SOCKET", "RUNTIME_DIRECTORY",
             "STATE_DIRECTORY", "JOURNAL_STREAM", "LISTEN_FDS", "LISTEN_PID")


def daemon_binary() -> str:
    path = os.environ.get("DURATIOND_BINARY", "")
    if not path or not os.access(path, os.X_OK):
        raise RuntimeError("set DURATIOND_BINARY to the durationd binary (ctest does)")
    return path


class Daemon:
    """A running durationd on a private temporary directory, removed by close()."""

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.dir = tempfile.mkdtemp(prefix="durationd-py-")
        self.socket_path = os.path.join(self.dir, "d.sock")
        self.state_dir = os.path.join(self.dir, "state")
        self.config = config
        self.proc: subprocess.Popen[bytes] | None = None
        try:
            self.start()
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise

    def start(self) -> None:
        """Starts the daemon (again, on the same socket and state dir after stop())."""
        argv = [daemon_binary(), "--socket", self.socket_path, "--state-dir", self.state_dir, "--foreground"]
        if self.config is not None:
            config_path = os.path.join(self.dir, "config.json")
            with open(config_path, "w", encoding="utf-8") as f:
                json.dump(self.config, f)
            argv += ["--config", config_path]
        notify_path = os.path.join(self.dir, "notify")
        if os.path.exists(notify_path):
            os.unlink(notify_path)
        env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
        env.update(NOTIFY_SOCKET=notify_path, DURATIOND_KEY=PASSPHRASE)
        stderr_path = os.path.join(self.dir, "stderr")
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify, open(stderr_path, "wb") as err:
            notify.bind(notify_path)
            notify.settimeout(0.05)
            self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=err)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if b"READY=1" in notify.recv(4096):
                        return
                except TimeoutError:
                    pass
                if self.proc.poll() is not None:
                    raise RuntimeError(f"durationd exited before READY=1: {self.stderr()}")
        self.stop(signal.SIGKILL)
        raise RuntimeError(f"durationd did not send READY=1 within 30 s: {self.stderr()}")

    def stderr(self) -> str:
        with open(os.path.join(self.dir, "stderr"), "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        """Signals the daemon and waits for it; returns its exit status."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(30)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class DaemonTestCase(unittest.TestCase):
    """One daemon for all the tests of a class; ``config`` is its --config, if any."""

    config: dict[str, Any] | None = None
    daemon: Daemon

    @classmethod
    def setUpClass(cls) -> None:
        cls.daemon = Daemon(cls.config)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.daemon.close()
