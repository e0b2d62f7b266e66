"""The gunicorn worker the shipped ``gunicorn.conf.py`` uses: gthread, with a deadline on request headers
and JSON answers for the errors gunicorn itself sends.

* Slow clients. gunicorn's sync workers read a request's headers in the worker's only thread: two clients
  sending headers a byte at a time stop the service. gthread workers park idle connections in a poller, but
  a thread that started reading headers blocks until they are complete. Here every request's headers must
  arrive within ``GUNICORN_HEADER_TIMEOUT`` seconds (default 10) of their first byte; a client that is
  slower gets ``408`` and the connection is closed, so a few slow clients hold a few threads for at most
  that long. Many such clients still need a buffering front proxy (nginx, a cloud load balancer) that
  passes on only complete requests; see docs/RELIABILITY.md.
* Errors gunicorn answers before the app sees the request (``414`` request line too long, ``431`` too many
  or too large headers, ``400`` malformed, ``408`` above) carry the API's JSON error shape instead of
  gunicorn's HTML page.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import time

from gunicorn import util
from gunicorn.workers.gthread import TConn, ThreadWorker

HEADER_TIMEOUT_S = float(os.environ.get("GUNICORN_HEADER_TIMEOUT", "10"))
_END_OF_HEADERS = b"\r\n\r\n"


class HeaderTimeout(Exception):
    """A client did not finish sending a request's headers in time."""


class HeaderDeadlineSocket:
    """A client socket whose request headers must arrive within ``timeout`` seconds of their first byte.

    Everything but ``recv`` and ``sendall`` goes to the wrapped socket. Once the blank line ending the
    headers has been read, the body is read without the deadline; an answer going out (``sendall``) starts
    the next request's headers afresh (keep-alive).
    """

    def __init__(self, sock: socket.socket, timeout: float):
        self._sock = sock
        self._timeout = timeout
        self._deadline: float | None = None
        self._tail = b""
        self._in_headers = True

    def __getattr__(self, name):
        return getattr(self._sock, name)

    def recv(self, size: int, *flags) -> bytes:
        # Only the parser's blocking reads are bounded; a caller with its own timeout (gunicorn's lingering
        # close, a body drain) keeps it.
        if not self._in_headers or self._sock.gettimeout() is not None:
            return self._sock.recv(size, *flags)
        if self._deadline is None:
            self._deadline = time.monotonic() + self._timeout
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise HeaderTimeout()
        previous = self._sock.gettimeout()
        self._sock.settimeout(remaining)
        try:
            data = self._sock.recv(size, *flags)
        except TimeoutError:  # socket.timeout
            raise HeaderTimeout() from None
        finally:
            self._sock.settimeout(previous)
        seen = self._tail + data
        if _END_OF_HEADERS in seen:
            self._in_headers = False
        self._tail = seen[-3:]
        return data

    def sendall(self, data, *flags):
        self._deadline, self._tail, self._in_headers = None, b"", True
        return self._sock.sendall(data, *flags)


def write_json_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's ``util.write_error`` with the API's JSON error shape instead of an HTML page."""
    from ecg_backend.errors import error_code

    body = json.dumps({"error": {"code": error_code(status_int), "message": mesg or reason, "details": None}}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\n\r\n"
    ).encode("latin-1")
    util.write_nonblock(sock, head + body)


class JsonThreadWorker(ThreadWorker):
    """gthread with the header deadline and JSON errors described in the module docstring.

    A worker whose threads are all busy stops accepting connections, so a new one goes to another worker
    with a free thread (or waits in the listen queue) instead of queueing behind slow clients here.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.busy_threads = 0

    def set_accept_enabled(self, enabled):
        super().set_accept_enabled(enabled and self.alive and self.busy_threads < self.cfg.threads)

    def enqueue_req(self, conn):
        self.busy_threads += 1
        super().enqueue_req(conn)
        self.set_accept_enabled(self.nr_conns < self.worker_connections)

    def finish_request(self, conn, fs):
        self.busy_threads -= 1
        super().finish_request(conn, fs)
        self.set_accept_enabled(self.nr_conns < self.worker_connections)

    def init_process(self):
        util.write_error = write_json_error  # used by every error gunicorn answers itself in this process
        super().init_process()

    def accept(self, listener):
        # ThreadWorker.accept, with the client socket wrapped (TLS terminated by gunicorn is left as it is)
        try:
            client_sock, client_addr = listener.accept()
            self.nr_conns += 1
            client_sock.setblocking(True)
            if not self.cfg.is_ssl:
                client_sock = HeaderDeadlineSocket(client_sock, HEADER_TIMEOUT_S)
            conn = TConn(self.cfg, client_sock, client_addr, listener.getsockname())
            self.enqueue_req(conn)
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise

    def handle_error(self, req, client, addr, exc):
        if isinstance(exc, HeaderTimeout):
            self.log.warning(
                "Request headers from ip=%s not complete after %g s: closed with 408",
                (addr or ("",))[0],
                HEADER_TIMEOUT_S,
            )
            try:
                write_json_error(
                    client, 408, "Request Timeout", f"the request headers did not arrive within {HEADER_TIMEOUT_S:g} s"
                )
            except OSError:
                pass
            # Shut at once: gunicorn's graceful close would otherwise linger on the main loop, reading from a
            # client that is still trickling.
            try:
                client.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        super().handle_error(req, client, addr, exc)
