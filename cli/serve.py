"""`luoshi serve [--db URL] [--host 127.0.0.1] [--port 8000]`: the portal (docs/web.md)."""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer

from .console import err, exit_on_errors
from .options import DbOption
from .policies import ConfigOption

SWITCH_INTERVAL = 0.0005  # seconds


def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option("--host", help="监听地址（对内网开放时给出本机地址，"
                                                     "前面应有 TLS 反向代理）")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="端口", min=1, max=65535)] = 8000,
    config: ConfigOption = None,
    secure_cookies: Annotated[bool, typer.Option(
        "--secure-cookies", help="会话 Cookie 只经 HTTPS 发送（在 TLS 反向代理之后运行时应打开）")] = False,
    max_unpacked_mb: Annotated[int | None, typer.Option(
        "--max-unpacked-mb", min=1, max=4096, show_default=False,
        help="一次报送的全部文件解压后的总大小上限（MB，默认 256；工作簿按其压缩包目录中声明的"
             "大小计）")] = None,
) -> None:
    """启动门户网站：单位报送、查看问题与期限，惩防办检查、发文、考核（浏览器访问，无需联网）。"""
    import uvicorn

    from luoshi.web.app import MAX_UNPACKED, create_app
    from luoshi.web.protocol import Protocol

    with exit_on_errors():
        app = create_app(db, config, secure_cookies=secure_cookies,
                         max_unpacked=max_unpacked_mb * 2**20 if max_unpacked_mb else MAX_UNPACKED)
    # The portal's own log (luoshi.web: each failure a user was shown by its reference) on
    # standard error beside uvicorn's, which systemd keeps in the journal.
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger("luoshi").addHandler(handler)
    err.print(f"门户已启动：http://{host}:{port}/（Ctrl+C 停止）")
    # A thread waiting for the database gets the interpreter back within 0.5 ms rather than the
    # default 5 ms while checks run in other threads: a submission's few dozen queries then take
    # 0.1 s under load, not 0.9 s (docs/performance.md, the portal under load).
    sys.setswitchinterval(SWITCH_INTERVAL)
    # Protocol: a request uvicorn cannot parse is answered in Chinese; no WebSockets: the portal
    # has none, and an upgrade request is then an ordinary request the portal answers.
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=True,
                server_header=False, http=Protocol, ws="none")
