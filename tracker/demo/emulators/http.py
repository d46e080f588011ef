"""The HTTP plumbing shared by the X, Bluesky, Mastodon and blog emulators.

A real ``ThreadingHTTPServer`` on 127.0.0.1, a log of every request, and faults switched on for the next matching requests
(``Fault`` kinds: 429, 500/502/503, malformed, body, delay, drop, and ``hang``: hold the
request until ``release()`` or ``stop()``, for tests that kill a client mid-request). A
subclass answers
``route(method, path, query, headers)`` and says how its platform spells a rate limit.
"""

from __future__ import annotations

import socket
import sys
import threading
from dataclasses import dataclass
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Answer = tuple[int, dict[str, str], bytes | None]  # a None body means: drop the connection


@dataclass
class Fault:
    """Answer the next ``times`` requests whose path contains ``path`` with a fault.

    kind: ``429`` (rate limit, reset ``reset_after`` s ahead), ``500``/``502``/``503``,
    ``malformed`` (200 with a truncated body), ``body`` (200 with ``body``: well-formed
    JSON of a shape the platform never sends), ``delay`` (sleep ``seconds`` then answer
    normally), ``drop`` (close the connection without an answer), ``hang`` (hold the
    request until ``release()``), or a kind of the platform's own (``fault_answer``). The
    first ``after`` matching requests are answered normally.
    """

    kind: str
    path: str = ""
    times: int = 1
    reset_after: float = 1.0
    seconds: float = 0.0
    after: int = 0
    body: bytes = b"{}"


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (a timeout, a killed collector, a "drop" fault) leaves a
        # broken pipe behind: expected in these tests, and a traceback printed from a
        # server thread lands in whatever stderr another test is capturing.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class RateWindow:
    """A fixed rate-limit window, as the platforms count: requests so far, and its reset."""

    def __init__(self, limit: int, seconds: float):
        self.limit = limit
        self.seconds = seconds
        self._start = time.time()
        self._used = 0
        self._lock = threading.Lock()

    def hit(self, exhausted: bool = False, reset_after: float | None = None) -> tuple[int, float]:
        """Count one request; return (requests remaining, reset time as epoch seconds).

        ``exhausted`` (a 429) reports none remaining, resetting ``reset_after`` seconds from now.
        """
        now = time.time()
        with self._lock:
            if now - self._start >= self.seconds:
                self._start, self._used = now, 0
            self._used += 1
            start, used = self._start, self._used
        reset = now + reset_after if reset_after is not None else start + self.seconds
        return (0 if exhausted else max(self.limit - used, 0)), reset


class EmulatorServer:
    """Subclasses implement ``route``, ``rate_limited`` and ``rate_headers``."""

    name = "emulator"
    malformed_body = b'{"truncated": "'

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.requests: list[dict[str, Any]] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)  # notified on every request (tests wait on it)
        self._server = _Server((host, port), self._handler_class())
        self._thread: threading.Thread | None = None
        self._released = threading.Event()
        self.hanging = threading.Event()  # set when a request is being held by a "hang" fault

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}" if isinstance(host, str) else f"http://{host.decode()}:{port}"

    def start(self) -> EmulatorServer:
        # A short poll interval: shutdown() waits up to one interval, in every test teardown.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=self.name, daemon=True)
        self._thread.start()
        return self

    def release(self) -> None:
        self._released.set()

    def stop(self) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def add_fault(self, kind: str, path: str = "", times: int = 1, **options: Any) -> None:
        with self._lock:
            self._faults.append(Fault(kind, path, times, **options))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def requests_to(self, path_part: str) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.requests if path_part in r["path"]]

    def wait_for_requests(self, path_part: str, count: int, timeout: float = 30.0) -> bool:
        """Block until ``count`` requests whose path contains ``path_part`` have arrived
        (False when ``timeout`` seconds pass first)."""
        with self._arrived:
            return self._arrived.wait_for(
                lambda: sum(path_part in r["path"] for r in self.requests) >= count, timeout)

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.path in path and fault.after > 0:
                    fault.after -= 1
                    continue
                if fault.path in path and fault.times > 0:
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    # --- to implement ------------------------------------------------------------------------

    def route(self, method: str, path: str, query: dict[str, str], headers: dict[str, str]) -> Answer:
        raise NotImplementedError

    def rate_limited(self, reset_after: float, path: str) -> Answer:
        """The platform's own 429 answer."""
        raise NotImplementedError

    def malformed(self, path: str) -> Answer:
        """A 200 whose body is cut short (``malformed_body``)."""
        return 200, {"content-type": "application/json; charset=utf-8", **self.rate_headers()}, self.malformed_body

    def odd_body(self, body: bytes, path: str) -> Answer:
        """A 200 with well-formed JSON of an unexpected shape (the ``body`` fault)."""
        return 200, {"content-type": "application/json; charset=utf-8", **self.rate_headers()}, body

    def rate_headers(self) -> dict[str, str]:
        """Rate-limit headers sent with every answer."""
        return {}

    def server_error(self, status: int, path: str) -> Answer:
        """A 5xx answer."""
        body = b'{"error":"InternalServerError","message":"Internal Server Error"}'
        return status, {"content-type": "application/json; charset=utf-8", **self.rate_headers()}, body

    def authorize(self, headers: dict[str, str]) -> Answer | None:
        """None to serve the request, or the platform's answer to bad credentials."""
        return None

    def fault_answer(self, fault: Fault, path: str) -> Answer:
        """The answer to a fault kind only this platform has."""
        raise ValueError(f"{self.name}: unknown fault kind {fault.kind!r}")

    # --- request handling ----------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, headers: dict[str, str]) -> Answer:
        parts = urlsplit(raw_path)
        query = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
        with self._lock:
            self.requests.append({"method": method, "path": parts.path, "query": query,
                                  "headers": dict(headers)})
            self._arrived.notify_all()
        refused = self.authorize(headers)
        if refused is not None:
            return refused
        fault = self._take_fault(parts.path)
        if fault is not None:
            if fault.kind == "delay":
                time.sleep(fault.seconds)
            elif fault.kind == "drop":
                return 0, {}, None
            elif fault.kind == "hang":
                self.hanging.set()
                self._released.wait()
                return 0, {}, None
            elif fault.kind == "429":
                return self.rate_limited(fault.reset_after, parts.path)
            elif fault.kind in ("500", "502", "503"):
                return self.server_error(int(fault.kind), parts.path)
            elif fault.kind == "malformed":
                return self.malformed(parts.path)
            elif fault.kind == "body":
                return self.odd_body(fault.body, parts.path)
            else:
                return self.fault_answer(fault, parts.path)
        return self.route(method, parts.path, query, headers)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in two writes; without TCP_NODELAY, Nagle plus the
                # client's delayed ACK costs ~40 ms per keep-alive request.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _answer(self, method: str) -> None:
                headers = {key.lower(): value for key, value in self.headers.items()}
                status, extra, body = emulator.handle(method, self.path, headers)
                if body is None:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.send_response(status)
                extra = dict(extra)
                self.send_header("content-type", extra.pop("content-type", "application/json; charset=utf-8"))
                if not (status == 304 or method == "HEAD"):
                    self.send_header("content-length", str(len(body)))
                for key, value in extra.items():
                    self.send_header(key, value)
                self.end_headers()
                if status != 304 and method != "HEAD":
                    self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802 (http.server naming)
                self._answer("GET")

            def log_message(self, format: str, *args: Any) -> None:
                pass  # requests are recorded in emulator.requests; the console stays quiet

        return Handler
