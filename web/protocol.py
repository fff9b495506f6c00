"""The HTTP/1.1 protocol `luoshi serve` runs: uvicorn's h11 protocol, answering in Chinese.

A request uvicorn cannot parse (a malformed request line, a header too large, bytes that are not
HTTP) never reaches the portal: uvicorn answers it itself with "Invalid HTTP request received.".
uvicorn takes the protocol as a class (`uvicorn.run(http=…)`), and its `send_400_response` is the
one place that answer is written, so a subclass replaces the text without patching uvicorn.
Behind nginx (docs/deploy.md) nginx refuses such requests first, with its own Chinese pages.
"""

from __future__ import annotations

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

BAD_REQUEST = "请求的格式不正确（不是有效的 HTTP 请求），无法处理\n".encode()


class Protocol(H11Protocol):
    """uvicorn's h11 protocol with a Chinese answer to a request it cannot parse."""

    def send_400_response(self, msg: str) -> None:  # msg: uvicorn's English, in its log already
        headers = [(b"content-type", b"text/plain; charset=utf-8"),
                   (b"content-length", str(len(BAD_REQUEST)).encode()),
                   (b"x-content-type-options", b"nosniff"),
                   (b"connection", b"close")]
        for event in (h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
                      h11.Data(data=BAD_REQUEST), h11.EndOfMessage()):
            self.transport.write(self.conn.send(event) or b"")
        self.transport.close()
