"""Connection-level limits for uvicorn servers, enforced before the application (and so
before authentication) sees a request.

httptools, uvicorn's fast HTTP parser, buffers a header of any size and never closes a
connection that stops sending mid-request (uvicorn#157). `LimitedHttpToolsProtocol` keeps
httptools' speed and adds what a server facing untrusted clients needs:

- the request line and headers together stay under `max_header_bytes` (431 otherwise);
- at most `max_headers` header fields (431);
- headers must arrive within `header_timeout_seconds` of the connection opening (or of the
  first byte of a follow-up keep-alive request), the body within `body_timeout_seconds` of
  the headers (408, then the connection closes). Time the server itself spends not reading
  (its in-flight body budget is full) does not count against the client.

Build the uvicorn config with `limited_config`; uvicorn re-imports the protocol by name in
worker processes.
"""

from __future__ import annotations

import asyncio

import httptools
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

PROTOCOL = "braking_common.http_limits:LimitedHttpToolsProtocol"
LINGER_SECONDS = 1.0  # how long a rejected connection's remaining input is read and dropped
LINGER_MAX_BYTES = 1 << 20  # ... and how much of it: a client streaming on is cut off sooner


class HttpLimits(BaseSettings):
    """Limits on each HTTP connection, shared by both servers. Env prefix BRAKING_HTTP_."""

    model_config = SettingsConfigDict(env_prefix="BRAKING_HTTP_")

    max_header_bytes: int = Field(
        64 * 1024, ge=1024, description="largest request line + headers, in bytes (431 above)"
    )
    max_headers: int = Field(100, ge=8, description="most header fields in a request (431)")
    header_timeout_seconds: float = Field(
        10.0, gt=0, description="time a client has to send the request line and headers (408)"
    )
    body_timeout_seconds: float = Field(
        30.0, gt=0, description="time a client has to send the body after the headers (408)"
    )
    keep_alive_seconds: int = Field(
        5, ge=1, description="an idle keep-alive connection is closed after this long"
    )


class _TooManyHeaders(Exception):
    """Raised inside the parser callback; httptools surfaces it as HttpParserCallbackError."""


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with header limits and read deadlines (module doc)."""

    def __init__(self, config, server_state, app_state, _loop=None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits: HttpLimits = getattr(config, "http_limits", None) or HttpLimits()
        self._deadline: asyncio.TimerHandle | None = None
        self._awaiting_headers = True
        self._header_bytes = 0
        self._header_count = 0
        self._discarding = False
        self._discarded = 0

    # Deadlines ----------------------------------------------------------------------------
    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._on_deadline)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _on_deadline(self) -> None:
        self._deadline = None
        if self.transport.is_closing() or self._discarding:
            return
        if not self._awaiting_headers and self.flow.read_paused:
            # The server stopped reading (backpressure): the client is not the slow one.
            self._arm(self.limits.body_timeout_seconds)
            return
        part = "headers" if self._awaiting_headers else "body"
        self._reject(408, f"request {part} not received in time")

    def _reject(self, status: int, message: str) -> None:
        """Answer `status` (unless a response already started) and close the connection."""
        self._disarm()
        cycle = self.cycle
        if cycle is None or not cycle.response_started:
            body = message.encode()
            self.transport.write(
                b"".join(
                    [
                        STATUS_LINE[status],
                        b"content-type: text/plain; charset=utf-8\r\n",
                        b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body),
                        body,
                    ]
                )
            )
            if cycle is not None:
                cycle.response_started = cycle.response_complete = True
        # Lingering close (as nginx does): closing with unread input makes the kernel send a
        # reset, which can destroy the answer before the client reads it. Half-close, drop
        # what still arrives for a moment, then close.
        self._discarding = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)

    # Protocol and parser callbacks --------------------------------------------------------
    def connection_made(self, transport) -> None:
        """Start the header deadline: a client that connects must send its request."""
        super().connection_made(transport)
        self._arm(self.limits.header_timeout_seconds)

    def connection_lost(self, exc: Exception | None) -> None:
        """Drop the pending deadline with the connection."""
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Feed the parser, counting header bytes; answer 400/431 on bad or oversized input."""
        if self._discarding:
            self._discarded += len(data)
            if self._discarded > LINGER_MAX_BYTES:
                self.transport.abort()
            return
        if self._awaiting_headers:
            self._header_bytes += len(data)
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError:
            if self._header_count > self.limits.max_headers:
                self._reject(431, f"more than {self.limits.max_headers} header fields")
            else:
                self._reject(400, "invalid HTTP request")
            return
        except httptools.HttpParserUpgrade:
            self._reject(400, "protocol upgrades are not supported")
            return
        except httptools.HttpParserError:
            self._reject(400, "invalid HTTP request")
            return
        if self._awaiting_headers and self._header_bytes > self.limits.max_header_bytes:
            limit = self.limits.max_header_bytes
            self._reject(431, f"request line and headers exceed {limit} bytes")

    def on_message_begin(self) -> None:
        """A new request: count its headers afresh, under the header deadline."""
        super().on_message_begin()
        self._awaiting_headers = True
        self._header_count = 0
        if self._deadline is None:  # a follow-up request on a keep-alive connection
            self._arm(self.limits.header_timeout_seconds)

    def on_header(self, name: bytes, value: bytes) -> None:
        """Count header fields; one too many aborts the parse (answered 431)."""
        self._header_count += 1
        if self._header_count > self.limits.max_headers:
            raise _TooManyHeaders
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        """Headers done: a body, if one is announced, must arrive within the body deadline."""
        self._awaiting_headers = False
        self._header_bytes = 0
        super().on_headers_complete()
        if _content_length(self.headers) or _chunked(self.headers):
            self._arm(self.limits.body_timeout_seconds)
        else:
            self._disarm()

    def on_message_complete(self) -> None:
        """The whole request is in: no deadline while the application answers."""
        self._disarm()
        super().on_message_complete()


def _content_length(headers: list[tuple[bytes, bytes]]) -> int:
    for name, value in headers:
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


def _chunked(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(
        name == b"transfer-encoding" and b"chunked" in value.lower() for name, value in headers
    )


def limited_config(app, limits: HttpLimits, **options):
    """A `uvicorn.Config` serving `app` through this protocol with `limits`."""
    import uvicorn

    config = uvicorn.Config(
        app, http=PROTOCOL, timeout_keep_alive=limits.keep_alive_seconds, **options
    )
    # Read by each protocol instance; pickled to the workers with the config.
    config.http_limits = limits  # type: ignore[attr-defined]
    return config
