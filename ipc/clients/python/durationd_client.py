"""A Python client for durationd, the local secure-data daemon.

One file, no dependencies beyond ``msgpack`` (Debian's ``python3-msgpack``) and the
standard library. It speaks the binary encoding of the wire contract
(``shared/spec/protocol.md``): 4-byte big-endian length-prefixed msgpack frames
carrying ``{"op", "id", "args"}`` requests and ``{"id", "ok", "result" | "error"}``
responses.

- :class:`Client`: one connection; a method per operation (``ping``, ``hello``,
  ``cache_*``, ``timer_*``, ``admin_status``) returning the contract's ``result``
  unchanged, ``call()`` for any other op, ``pipeline()`` to send many requests before
  reading their answers in order.
- :class:`DurationCache`: a drop-in for the pickle-file caches of the app durationd
  replaces: ``get``/``set`` with a TTL in seconds, ``in``, ``delete``, ``clear`` and
  ``@cache.memoize(ttl=...)``. Values must be msgpack-able; anything else is a
  :class:`TypeError`, never a pickle.
- Errors: the daemon's error codes each have a class (:class:`NotFoundError` for
  ``NOT_FOUND``, ...), all deriving from :class:`DurationdError`, which carries
  ``.code``, ``.message`` and ``.details``. ``ERROR_CLASSES`` maps code to class.

Values travel as msgpack: ``None``, ``bool``, ``int`` (-2**63 .. 2**64-1), ``float``,
``str``, ``bytes``, ``list``/``tuple`` (read back as ``list``), ``dict`` (keys ``str``
or ``int``) and timezone-aware ``datetime`` (the timestamp extension; read back as a
UTC ``datetime`` unless ``Client(datetimes=False)``, which gives exact
``msgpack.Timestamp`` objects).

Neither class is safe to share between threads, except that :class:`DurationCache`
serialises its own requests with a lock.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import math
import os
import select
import socket
import threading
from typing import Any, Callable, Iterable, Mapping, TypeVar

import msgpack

__all__ = [
    "DEFAULT_SOCKET",
    "DEFAULT_TIMEOUT",
    "MAX_FRAME",
    "ERROR_CLASSES",
    "default_socket_path",
    "Client",
    "Pipeline",
    "DurationCache",
    "DurationdError",
    "BadFrameError",
    "BadRequestError",
    "UnknownOpError",
    "TooLargeError",
    "TooDeepError",
    "BadTypeError",
    "NotFoundError",
    "ConflictError",
    "ForbiddenError",
    "BusyError",
    "UnavailableError",
    "InternalError",
    "ProtocolError",
    "DurationdConnectionError",
    "DurationdTimeoutError",
]

#: The daemon's socket when neither an argument nor ``$DURATIOND_SOCKET`` names one.
DEFAULT_SOCKET = "/run/durationd/durationd.sock"
#: Seconds a request may wait for the daemon to make progress (see :class:`Client`).
DEFAULT_TIMEOUT = 30.0
#: The largest frame body the contract allows (a daemon's config may lower it).
MAX_FRAME = 16_777_215
_MAX_ID = 2**53 - 1
_READ_CHUNK = 256 * 1024
_WRITE_CHUNK = 256 * 1024


def default_socket_path() -> str:
    """The socket durationctl would use: ``$DURATIOND_SOCKET`` when set and not empty,
    else ``/run/durationd/durationd.sock``. Read at each call, not at import."""
    return os.environ.get("DURATIOND_SOCKET") or DEFAULT_SOCKET


# --- errors -------------------------------------------------------------------------


class DurationdError(Exception):
    """Base of every error this module raises about durationd.

    ``code`` is the contract's error code (``"NOT_FOUND"``, ...) or, for errors found
    on this side, one of ``"PROTOCOL_ERROR"``, ``"CONNECTION"``, ``"TIMEOUT"``.
    ``message`` is the daemon's text for humans; ``details`` holds any other keys the
    daemon put in the error map (none today); ``request_id`` is the envelope id the
    error answered, when it had one.
    """

    code: str = "UNKNOWN"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: Mapping[str, Any] | None = None,
        request_id: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code if code is not None else type(self).code
        self.message = message
        self.details: dict[str, Any] = dict(details or {})
        self.request_id = request_id

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class BadFrameError(DurationdError):
    """``BAD_FRAME``: the daemon could not read the frame (e.g. over its ``max_frame``);
    it closes the connection after answering."""

    code = "BAD_FRAME"


class BadRequestError(DurationdError):
    """``BAD_REQUEST``: an argument is missing, of the wrong type or out of range."""

    code = "BAD_REQUEST"


class UnknownOpError(DurationdError):
    """``UNKNOWN_OP``: no such operation."""

    code = "UNKNOWN_OP"


class TooLargeError(DurationdError):
    """``TOO_LARGE``: a value over 10,485,760 bytes, or a string over its limit. Also
    raised without sending anything for a request larger than ``Client.max_frame``."""

    code = "TOO_LARGE"


class TooDeepError(DurationdError):
    """``TOO_DEEP``: a value nested deeper than 32 levels."""

    code = "TOO_DEEP"


class BadTypeError(DurationdError):
    """``BAD_TYPE``: a value holds a type the daemon does not store (an extension type
    other than the timestamp, a map key that is not a str or int, ...)."""

    code = "BAD_TYPE"


class NotFoundError(DurationdError):
    """``NOT_FOUND``: no such key (or it expired) or no such session."""

    code = "NOT_FOUND"


class ConflictError(DurationdError):
    """``CONFLICT``: the operation contradicts the current state (e.g. stopping a
    stopped session, starting one while another runs)."""

    code = "CONFLICT"


class ForbiddenError(DurationdError):
    """``FORBIDDEN``: an admin op by a non-admin, or a peer not allowed at all (then the
    daemon closes the connection)."""

    code = "FORBIDDEN"


class BusyError(DurationdError):
    """``BUSY``: the daemon sheds load (e.g. too many connections); retry later."""

    code = "BUSY"


class UnavailableError(DurationdError):
    """``UNAVAILABLE``: storage is failing; nothing was written."""

    code = "UNAVAILABLE"


class InternalError(DurationdError):
    """``INTERNAL``: a bug in the daemon; the details are in its log."""

    code = "INTERNAL"


class ProtocolError(DurationdError):
    """The daemon sent something the contract does not allow (a bad frame, a response
    that is not an envelope, an id out of order). The connection is closed."""

    code = "PROTOCOL_ERROR"


class DurationdConnectionError(DurationdError, ConnectionError):
    """Cannot connect, or the connection was lost before every answer arrived."""

    code = "CONNECTION"


class DurationdTimeoutError(DurationdError, TimeoutError):
    """The daemon made no progress for ``timeout`` seconds. The connection is closed
    (its stream is out of step); the next request opens a new one."""

    code = "TIMEOUT"


#: Every error code of the contract, mapped to its class.
ERROR_CLASSES: dict[str, type[DurationdError]] = {
    cls.code: cls
    for cls in (
        BadFrameError,
        BadRequestError,
        UnknownOpError,
        TooLargeError,
        TooDeepError,
        BadTypeError,
        NotFoundError,
        ConflictError,
        ForbiddenError,
        BusyError,
        UnavailableError,
        InternalError,
    )
}


def _error_from_map(error: Any, request_id: int | None) -> DurationdError:
    if not isinstance(error, dict):
        raise ProtocolError("error response without an error map")
    code, message = error.get("code"), error.get("message")
    if not isinstance(code, str) or not isinstance(message, str):
        raise ProtocolError("error map without a string code and message")
    details = {k: v for k, v in error.items() if k not in ("code", "message")}
    # A code this module does not know yet (a newer daemon) is still a DurationdError.
    cls = ERROR_CLASSES.get(code, DurationdError)
    return cls(message, code=code, details=details, request_id=request_id)


# --- encoding -----------------------------------------------------------------------

_ALLOWED = (
    "None, bool, int, float, str, bytes, list, tuple, dict (str or int keys), "
    "timezone-aware datetime, msgpack.Timestamp"
)


def _refuse(obj: Any) -> Any:
    if isinstance(obj, _dt.datetime):
        raise TypeError(
            "a naive datetime has no time zone and cannot be sent to durationd; "
            "attach one, e.g. datetime.now(timezone.utc)"
        )
    raise TypeError(
        f"{type(obj).__name__} is not msgpack-able; durationd stores only {_ALLOWED} "
        "(it never pickles)"
    )


def _pack(obj: Any) -> bytes:
    """msgpack bytes of ``obj``; a :class:`TypeError` naming the type for anything that
    has no msgpack form."""
    try:
        return msgpack.packb(obj, use_bin_type=True, datetime=True, default=_refuse)
    except OverflowError as e:  # an int outside -2**63 .. 2**64-1
        raise TypeError(f"not msgpack-able: {e} (msgpack integers are -2**63 .. 2**64-1)") from e


def _unpack(body: bytes, datetimes: bool) -> Any:
    """Exactly one msgpack object, or :class:`ProtocolError`."""
    try:
        return msgpack.unpackb(
            body, raw=False, strict_map_key=False, use_list=True, timestamp=3 if datetimes else 0
        )
    except (ValueError, TypeError, msgpack.UnpackException) as e:
        raise ProtocolError(f"durationd sent a frame that is not one msgpack object: {e}") from e


def _args(**kwargs: Any) -> dict[str, Any]:
    """The args map: names given as None are left out (the contract reads nil as absent)."""
    return {name: value for name, value in kwargs.items() if value is not None}


# --- operations ---------------------------------------------------------------------


class _Ops:
    """One method per operation of the contract. Each builds the op's args and hands
    them to ``call``: a :class:`Client` sends at once and returns the ``result``; a
    :class:`Pipeline` queues and returns itself."""

    def call(self, op: str, args: Mapping[str, Any] | None = None) -> Any:
        raise NotImplementedError

    def ping(self) -> Any:
        """``ping`` → ``"pong"``."""
        return self.call("ping")

    def hello(self) -> Any:
        """``hello`` → ``{"server", "version", "protocol", "max_frame", "uid", "admin"}``."""
        return self.call("hello")

    # cache

    def cache_put(
        self,
        key: str,
        value: Any,
        *,
        ttl_ms: int | None = None,
        ns: str | None = None,
        durable: bool | None = None,
    ) -> Any:
        """``cache.put`` → ``{"stored": True}``. ``ttl_ms`` None or 0: no expiry;
        ``durable=True``: answered only once committed to disk."""
        args = _args(key=key, ttl_ms=ttl_ms, ns=ns, durable=durable)
        args["value"] = value  # None is a value (nil) here, not an absent argument
        return self.call("cache.put", args)

    def cache_get(self, key: str, *, ns: str | None = None) -> Any:
        """``cache.get`` → ``{"value": ..., "ttl_ms": <remaining ms or None>}``;
        :class:`NotFoundError` when absent or expired."""
        return self.call("cache.get", _args(key=key, ns=ns))

    def cache_del(self, key: str, *, ns: str | None = None) -> Any:
        """``cache.del`` → ``{"deleted": bool}``."""
        return self.call("cache.del", _args(key=key, ns=ns))

    def cache_clear(self, *, ns: str | None = None) -> Any:
        """``cache.clear`` → ``{"deleted": int}``: this uid's entries in ``ns``."""
        return self.call("cache.clear", _args(ns=ns))

    def cache_stats(self) -> Any:
        """``cache.stats`` → ``{"entries", "bytes", "hits", "misses", "evictions",
        "expired", ...}`` for this uid."""
        return self.call("cache.stats")

    # timer sessions

    def timer_start(
        self,
        task: str,
        *,
        tags: Iterable[str] | None = None,
        planned_ms: int | None = None,
        note: str | None = None,
        brief: bool = False,
    ) -> Any:
        """``timer.start`` → the session; :class:`ConflictError` when one is running or
        paused. ``brief=True`` (a durationd extension): ``interruption_count`` instead of
        the ``interruptions`` list."""
        tag_list = list(tags) if tags is not None else None
        return self.call(
            "timer.start", _args(task=task, tags=tag_list, planned_ms=planned_ms, note=note, brief=brief or None)
        )

    def timer_pause(self, session_id: int, *, brief: bool = False) -> Any:
        """``timer.pause`` → the session; :class:`ConflictError` unless running."""
        return self.call("timer.pause", _args(id=session_id, brief=brief or None))

    def timer_resume(self, session_id: int, *, brief: bool = False) -> Any:
        """``timer.resume`` → the session; :class:`ConflictError` unless paused."""
        return self.call("timer.resume", _args(id=session_id, brief=brief or None))

    def timer_interrupt(self, session_id: int, *, reason: str | None = None, brief: bool = False) -> Any:
        """``timer.interrupt`` → the session with the interruption appended."""
        return self.call("timer.interrupt", _args(id=session_id, reason=reason, brief=brief or None))

    def timer_stop(
        self,
        session_id: int,
        *,
        outcome: str | None = None,
        focus: int | None = None,
        note: str | None = None,
        brief: bool = False,
    ) -> Any:
        """``timer.stop`` → the session. ``outcome``: ``"completed"`` (default) or
        ``"abandoned"``; ``focus``: 1..5; ``note`` replaces the session's note."""
        return self.call(
            "timer.stop", _args(id=session_id, outcome=outcome, focus=focus, note=note, brief=brief or None)
        )

    def timer_get(self, session_id: int) -> Any:
        """``timer.get`` → the session; :class:`NotFoundError` when there is none."""
        return self.call("timer.get", _args(id=session_id))

    def timer_list(
        self,
        *,
        from_: _dt.datetime | None = None,
        to: _dt.datetime | None = None,
        task: str | None = None,
        tag: str | None = None,
        state: str | None = None,
        limit: int | None = None,
        after_id: int | None = None,
    ) -> Any:
        """``timer.list`` → ``{"sessions": [...], "next_after_id": int or None}``:
        sessions started in ``[from_, to)`` (timezone-aware datetimes), by id."""
        return self.call(
            "timer.list",
            _args(
                **{"from": from_}, to=to, task=task, tag=tag, state=state, limit=limit, after_id=after_id
            ),
        )

    def timer_stats(
        self,
        group_by: str,
        *,
        from_: _dt.datetime | None = None,
        to: _dt.datetime | None = None,
        tz_offset_min: int | None = None,
    ) -> Any:
        """``timer.stats`` → ``{"groups": [...], "totals": {...}, "streak_days": int}``;
        ``group_by`` is ``"day"``, ``"task"`` or ``"tag"``."""
        return self.call(
            "timer.stats", _args(group_by=group_by, **{"from": from_}, to=to, tz_offset_min=tz_offset_min)
        )

    def timer_delete(self, session_id: int) -> Any:
        """``timer.delete`` → ``{"deleted": bool}``."""
        return self.call("timer.delete", _args(id=session_id))

    # admin

    def admin_status(self) -> Any:
        """``admin.status`` → the daemon at a glance; :class:`ForbiddenError` for a
        peer that is not an admin."""
        return self.call("admin.status")


# --- the connection -----------------------------------------------------------------


class Client(_Ops):
    """One connection to durationd, speaking the binary encoding.

    ``socket_path``: default :func:`default_socket_path` (``$DURATIOND_SOCKET``, else
    ``/run/durationd/durationd.sock``). ``timeout``: seconds the daemon may go without
    accepting or sending a byte while a request is outstanding (and the limit for
    connecting); ``None`` waits for ever. On expiry :class:`DurationdTimeoutError` is
    raised and the connection closed. ``datetimes``: timestamps come back as UTC
    ``datetime`` (True) or exact ``msgpack.Timestamp`` (False). ``reconnect``: before a
    request, a connection the daemon has closed (idle timeout, restart) is replaced by
    a new one; a request already sent is never sent again.

    Each op method returns the contract's ``result`` unchanged and raises the error's
    class (:class:`NotFoundError`, ...) on an error response. Use as a context manager
    to close the connection on exit::

        with Client() as client:
            client.cache_put("greeting", "hello", ttl_ms=60_000)
            client.cache_get("greeting")["value"]   # 'hello'
    """

    def __init__(
        self,
        socket_path: str | os.PathLike[str] | None = None,
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        datetimes: bool = True,
        reconnect: bool = True,
        connect: bool = True,
        max_frame: int = MAX_FRAME,
    ) -> None:
        self.socket_path = os.fspath(socket_path) if socket_path is not None else default_socket_path()
        self.timeout = timeout
        self.datetimes = datetimes
        self.reconnect = reconnect
        self.max_frame = max_frame
        self._sock: socket.socket | None = None
        self._ever_connected = False
        self._inbuf = bytearray()
        self._next_id = 1
        if connect:
            self.connect()

    # lifecycle

    def connect(self) -> None:
        """Opens the connection (closing any earlier one)."""
        self.close()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self.socket_path)
        except TimeoutError as e:
            sock.close()
            raise DurationdTimeoutError(f"connecting to {self.socket_path} took over {self.timeout} s") from e
        except OSError as e:
            sock.close()
            raise DurationdConnectionError(
                f"cannot connect to {self.socket_path}: {e.strerror or e} (is durationd running?)"
            ) from e
        sock.setblocking(False)
        self._sock = sock
        self._ever_connected = True
        self._inbuf.clear()

    def close(self) -> None:
        """Closes the connection; calling it again does nothing."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._inbuf.clear()

    @property
    def closed(self) -> bool:
        """True when no connection is open."""
        return self._sock is None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # requests

    def call(self, op: str, args: Mapping[str, Any] | None = None) -> Any:
        """Sends one request and returns its ``result``; raises its error's class."""
        outcome = self._exchange([(op, args)])[0]
        if isinstance(outcome, DurationdError):
            raise outcome
        return outcome

    def pipeline(self) -> Pipeline:
        """A :class:`Pipeline` on this connection."""
        return Pipeline(self)

    def _ready_socket(self) -> socket.socket:
        if self._sock is not None and self.reconnect and self._peer_closed(self._sock):
            self.close()
        if self._sock is None:
            if self._ever_connected and not self.reconnect:
                raise DurationdConnectionError("the connection to durationd is closed")
            self.connect()
        assert self._sock is not None
        return self._sock

    @staticmethod
    def _peer_closed(sock: socket.socket) -> bool:
        """True when the daemon has closed its end (nothing is outstanding, so any
        readable state can only be the end of the stream)."""
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        if not poller.poll(0):
            return False
        try:
            return sock.recv(1, socket.MSG_PEEK) == b""
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            return True

    def _frame(self, op: str, args: Mapping[str, Any] | None, request_id: int) -> bytes:
        if not isinstance(op, str):
            raise TypeError(f"op must be a str, not {type(op).__name__}")
        envelope: dict[str, Any] = {"op": op, "id": request_id}
        if args:
            envelope["args"] = dict(args)
        body = _pack(envelope)
        if len(body) > self.max_frame:
            raise TooLargeError(f"request of {len(body)} bytes is over max_frame ({self.max_frame}); nothing was sent")
        return len(body).to_bytes(4, "big") + body

    def _take_ids(self, count: int) -> list[int]:
        ids = []
        for _ in range(count):
            ids.append(self._next_id)
            self._next_id = self._next_id % _MAX_ID + 1
        return ids

    def _exchange(self, requests: list[tuple[str, Mapping[str, Any] | None]]) -> list[Any]:
        """Sends every request, reads one response per request in order, and returns
        each result, or the error instance for an error response. Writing and reading
        overlap, so a long pipeline cannot deadlock against the daemon's own buffers."""
        if not requests:
            return []
        ids = self._take_ids(len(requests))
        out = b"".join(self._frame(op, args, rid) for (op, args), rid in zip(requests, ids))
        sock = self._ready_socket()
        try:
            return self._run(sock, memoryview(out), ids)
        except DurationdError:
            self.close()
            raise

    def _run(self, sock: socket.socket, out: memoryview, ids: list[int]) -> list[Any]:
        outcomes: list[Any] = []
        sent = 0
        writable = True
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        wait_ms = None if self.timeout is None else max(0, int(self.timeout * 1000))
        while len(outcomes) < len(ids):
            self._decode_buffered(ids, outcomes)
            if len(outcomes) == len(ids):
                break
            want_write = writable and sent < len(out)
            poller.modify(sock, select.POLLIN | (select.POLLOUT if want_write else 0))
            if not poller.poll(wait_ms):
                raise DurationdTimeoutError(
                    f"durationd made no progress for {self.timeout} s "
                    f"({len(outcomes)} of {len(ids)} answers read)"
                )
            if want_write:
                try:
                    sent += sock.send(out[sent : sent + _WRITE_CHUNK])
                except (BlockingIOError, InterruptedError):
                    pass
                except (BrokenPipeError, ConnectionResetError):
                    writable = False  # the daemon closed; read what it said first
            try:
                data = sock.recv(_READ_CHUNK)
            except (BlockingIOError, InterruptedError):
                continue
            except ConnectionResetError:
                data = b""
            if not data:
                self._decode_buffered(ids, outcomes)
                if len(outcomes) == len(ids):
                    break
                if self._inbuf:
                    raise ProtocolError("durationd closed the connection in the middle of a frame")
                if outcomes and isinstance(outcomes[-1], DurationdError):
                    raise outcomes[-1]  # e.g. BUSY or FORBIDDEN, after which it closes
                raise DurationdConnectionError(
                    f"durationd closed the connection ({len(outcomes)} of {len(ids)} answers read)"
                )
            self._inbuf += data
        return outcomes

    def _decode_buffered(self, ids: list[int], outcomes: list[Any]) -> None:
        while len(outcomes) < len(ids):
            body = self._take_frame()
            if body is None:
                return
            expected = ids[len(outcomes)]
            request_id, outcome = self._decode_response(body)
            if request_id is None and isinstance(outcome, DurationdError):
                # Answered without an id: the daemon could not read the request (BAD_FRAME)
                # and closes the connection.
                raise outcome
            if request_id != expected:
                raise ProtocolError(f"expected the answer to request {expected}, got one for {request_id}")
            outcomes.append(outcome)

    def _take_frame(self) -> bytes | None:
        buf = self._inbuf
        if len(buf) < 4:
            return None
        size = int.from_bytes(buf[:4], "big")
        if size == 0 or size > MAX_FRAME:
            raise ProtocolError(f"durationd sent a frame length of {size}")
        if len(buf) < 4 + size:
            return None
        body = bytes(buf[4 : 4 + size])
        del buf[: 4 + size]
        return body

    def _decode_response(self, body: bytes) -> tuple[int | None, Any]:
        response = _unpack(body, self.datetimes)
        if not isinstance(response, dict):
            raise ProtocolError("durationd sent a response that is not a map")
        request_id = response.get("id")
        if request_id is not None and (type(request_id) is not int or request_id < 0):
            raise ProtocolError(f"durationd sent a response id that is not an unsigned integer: {request_id!r}")
        ok = response.get("ok")
        if ok is True:
            if "result" not in response:
                raise ProtocolError("durationd sent an ok response without a result")
            return request_id, response["result"]
        if ok is False:
            return request_id, _error_from_map(response.get("error"), request_id)
        raise ProtocolError("durationd sent a response without a boolean ok")


class Pipeline(_Ops):
    """Requests queued on a :class:`Client`, sent together by :meth:`execute`, whose
    answers come back in the order the requests were queued (the contract guarantees
    the daemon answers in order). The op methods return the pipeline, so calls chain::

        with client.pipeline() as p:
            p.cache_put("a", 1).cache_put("b", 2)
            p.cache_get("a")
            p.cache_get("missing")
            results = p.execute()
        # [{'stored': True}, {'stored': True}, {'value': 1, 'ttl_ms': None}, NotFoundError(...)]

    An error answer does not stop the others: by default :meth:`execute` puts the
    exception *instance* in that request's place; ``execute(raise_on_error=True)``
    raises the first one instead, after every answer has been read. Leaving the
    ``with`` block discards whatever was queued and not executed.
    """

    def __init__(self, client: Client) -> None:
        self._client = client
        self._queue: list[tuple[str, Mapping[str, Any] | None]] = []

    def call(self, op: str, args: Mapping[str, Any] | None = None) -> Pipeline:
        """Queues one request."""
        self._queue.append((op, args))
        return self

    def __len__(self) -> int:
        return len(self._queue)

    def execute(self, *, raise_on_error: bool = False) -> list[Any]:
        """Sends the queued requests and returns their results in order (see the class
        docs for errors). If the connection is lost before every answer arrived, raises
        :class:`DurationdConnectionError` (or the error the daemon closed it with);
        requests after the last answered one may or may not have been carried out.
        A request that cannot be encoded (a :class:`TypeError`) raises before anything
        is sent."""
        queue, self._queue = self._queue, []
        outcomes = self._client._exchange(queue)
        if raise_on_error:
            for outcome in outcomes:
                if isinstance(outcome, DurationdError):
                    raise outcome
        return outcomes

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self._queue = []


# --- a drop-in for pickle caches ----------------------------------------------------

_MISSING = object()
_F = TypeVar("_F", bound=Callable[..., Any])
Ttl = float | int | _dt.timedelta | None


def _ttl_ms(ttl: Ttl) -> int | None:
    """Seconds (or a timedelta) to whole milliseconds, rounded up; None: no expiry."""
    if ttl is None:
        return None
    seconds = ttl.total_seconds() if isinstance(ttl, _dt.timedelta) else ttl
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"ttl must be seconds (int or float) or a timedelta, not {type(ttl).__name__}")
    if not seconds > 0 or math.isinf(seconds):
        raise ValueError(f"ttl must be a positive, finite number of seconds (None: no expiry), not {ttl!r}")
    return max(1, math.ceil(seconds * 1000))


def _canonical(obj: Any) -> Any:
    """``obj`` with every dict's keys in one order (by their msgpack bytes), so equal
    arguments pack to equal bytes whatever order their dicts were built in."""
    if isinstance(obj, dict):
        items = [(_canonical(k), _canonical(v)) for k, v in obj.items()]
        items.sort(key=lambda kv: _pack(kv[0]))
        return dict(items)
    if isinstance(obj, (list, tuple)):
        return [_canonical(x) for x in obj]
    return obj


def _check_key(key: Any) -> str:
    if not isinstance(key, str):
        raise TypeError(f"cache keys are str, not {type(key).__name__}")
    return key


class DurationCache:
    """A key-value cache in durationd, in place of a pickle-file cache.

    Entries live in namespace ``namespace`` (0..64 of ``[A-Za-z0-9._:-]``) of the
    calling uid: encrypted on disk, surviving restarts until they expire, never
    visible to another uid. TTLs are seconds (``int``, ``float`` or ``timedelta``;
    ``None``: ``default_ttl``, which by default means no expiry). Values are
    msgpack-able (see the module docs); anything else raises :class:`TypeError` before
    anything is sent. Values come back as msgpack gives them: tuples as lists.

    It opens its connection lazily and reopens it when the daemon closed it; its
    methods may be called from several threads (one request at a time).

    ::

        cache = DurationCache("myapp", default_ttl=3600)
        cache.set("report", {"rows": 3}, ttl=60)
        cache.get("report")             # {'rows': 3}
        "report" in cache               # True

        @cache.memoize(ttl=600)
        def load(path: str) -> list[int]: ...
    """

    def __init__(
        self,
        namespace: str = "",
        *,
        socket_path: str | os.PathLike[str] | None = None,
        default_ttl: Ttl = None,
        durable: bool = False,
        timeout: float | None = DEFAULT_TIMEOUT,
        client: Client | None = None,
    ) -> None:
        self.namespace = namespace
        self._ns = namespace or None
        self.default_ttl = default_ttl
        self.durable = durable
        self._ttl_default_ms = _ttl_ms(default_ttl)  # validates it now
        self._client = client if client is not None else Client(socket_path, timeout=timeout, connect=False)
        self._lock = threading.Lock()

    @property
    def client(self) -> Client:
        """The :class:`Client` this cache talks through."""
        return self._client

    def _entry(self, key: str) -> dict[str, Any] | None:
        """``cache.get``'s result for ``key``, or None when it is absent or expired."""
        _check_key(key)
        with self._lock:
            try:
                return self._client.cache_get(key, ns=self._ns)
            except NotFoundError:
                return None

    def _put(self, target: _Ops, key: str, value: Any, ttl: Ttl, durable: bool | None) -> Any:
        ttl_ms = _ttl_ms(ttl) if ttl is not None else self._ttl_default_ms
        keep = self.durable if durable is None else durable
        return target.cache_put(_check_key(key), value, ttl_ms=ttl_ms, ns=self._ns, durable=keep or None)

    def get(self, key: str, default: Any = None) -> Any:
        """The value stored under ``key``, or ``default`` when it is absent or expired."""
        entry = self._entry(key)
        return default if entry is None else entry["value"]

    def ttl(self, key: str) -> float | None:
        """Seconds ``key`` has left (None: no expiry); :class:`KeyError` when absent."""
        entry = self._entry(key)
        if entry is None:
            raise KeyError(key)
        return None if entry["ttl_ms"] is None else entry["ttl_ms"] / 1000

    def set(self, key: str, value: Any, ttl: Ttl = None, *, durable: bool | None = None) -> None:
        """Stores ``value`` under ``key`` for ``ttl`` seconds (None: ``default_ttl``),
        replacing any earlier value and TTL. ``durable`` (default: the cache's): return
        only once the entry is on disk."""
        with self._lock:
            self._put(self._client, key, value, ttl, durable)

    def delete(self, key: str) -> bool:
        """Removes ``key``; True when it was there."""
        with self._lock:
            return bool(self._client.cache_del(_check_key(key), ns=self._ns)["deleted"])

    def clear(self) -> int:
        """Removes every entry of this namespace; returns how many there were."""
        with self._lock:
            return int(self._client.cache_clear(ns=self._ns)["deleted"])

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """The values of those ``keys`` that are present, in one pipelined round trip."""
        wanted = [_check_key(k) for k in keys]
        with self._lock, self._client.pipeline() as p:
            for key in wanted:
                p.cache_get(key, ns=self._ns)
            outcomes = p.execute()
        found = {}
        for key, outcome in zip(wanted, outcomes):
            if isinstance(outcome, NotFoundError):
                continue
            if isinstance(outcome, DurationdError):
                raise outcome
            found[key] = outcome["value"]
        return found

    def set_many(self, items: Mapping[str, Any], ttl: Ttl = None, *, durable: bool | None = None) -> None:
        """Stores every item, in one pipelined round trip; raises the first error."""
        with self._lock, self._client.pipeline() as p:
            for key, value in items.items():
                self._put(p, key, value, ttl, durable)
            p.execute(raise_on_error=True)

    def stats(self) -> dict[str, Any]:
        """``cache.stats`` for this uid (all namespaces)."""
        with self._lock:
            return dict(self._client.cache_stats())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key, _MISSING) is not _MISSING

    def __getitem__(self, key: str) -> Any:
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        self.set(key, value)

    def __delitem__(self, key: str) -> None:
        if not self.delete(key):
            raise KeyError(key)

    def memoize(self, ttl: Ttl = None, *, key_prefix: str | None = None) -> Callable[[_F], _F]:
        """Decorator: caches the function's results under a key made of ``key_prefix``
        (default ``memoize:<module>.<qualname>``) and a SHA-256 of the msgpack encoding
        of its arguments, dicts in a canonical order. Arguments and results must be
        msgpack-able (else :class:`TypeError`; a non-msgpack-able result is refused
        after the call, and not cached). The wrapper returns the result as the cache
        gives it back (tuples become lists) on the first call too, so every call
        returns the same. A ``None`` result is cached like any other.

        The wrapper has ``cache_key(*args, **kwargs)`` and ``invalidate(*args,
        **kwargs)``, and ``__wrapped__``, the undecorated function. Two threads missing
        at once may both call the function."""

        def decorate(func: _F) -> _F:
            prefix = key_prefix if key_prefix is not None else f"memoize:{func.__module__}.{func.__qualname__}"
            if len(prefix.encode()) > 900:
                raise ValueError("key_prefix is longer than 900 bytes (keys are at most 1024)")

            def cache_key(*args: Any, **kwargs: Any) -> str:
                encoded = _pack([_canonical(args), _canonical(kwargs)])
                return f"{prefix}:{hashlib.sha256(encoded).hexdigest()}"

            @functools.wraps(func)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                key = cache_key(*args, **kwargs)
                cached = self.get(key, _MISSING)
                if cached is not _MISSING:
                    return cached
                result = _unpack(_pack(func(*args, **kwargs)), self._client.datetimes)
                self.set(key, result, ttl)
                return result

            def invalidate(*args: Any, **kwargs: Any) -> bool:
                return self.delete(cache_key(*args, **kwargs))

            wrapper.cache_key = cache_key  # type: ignore[attr-defined]
            wrapper.invalidate = invalidate  # type: ignore[attr-defined]
            return wrapper  # type: ignore[return-value]

        return decorate

    def close(self) -> None:
        """Closes the connection (a later call opens a new one)."""
        with self._lock:
            self._client.close()

    def __enter__(self) -> DurationCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
