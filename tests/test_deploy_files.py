"""deploy/luoshi.service and deploy/nginx.conf do what docs/deploy.md says. systemd's own
checker reads the unit; a real nginx, with a throwaway certificate, proxies to a small backend
on the loopback: HTTPS only, the headers, the 20 MB upload limit, and nginx's own errors (413,
502, 504) as the Chinese pages of deploy/errors/. Each part is skipped where its program
(systemd-analyze, nginx, openssl) is not installed."""

import contextlib
import getpass
import http.server
import json
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
UPLOAD_LIMIT = 20 * 1024 * 1024
SLOW = 1  # seconds nginx waits for the backend in the test (600 in use)


def test_the_unit_runs_as_its_own_user_on_the_loopback_with_the_system_read_only():
    unit = (DEPLOY / "luoshi.service").read_text(encoding="utf-8")
    settings = dict(re.findall(r"^(\w+)=(.*)$", unit, re.MULTILINE))
    assert settings["User"] == "luoshi" and settings["Group"] == "luoshi"
    assert "--host 127.0.0.1 --port 8000" in settings["ExecStart"]
    assert "--db" not in settings["ExecStart"]  # the URL is in the environment file, not in ps
    for name, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict",
                        "ProtectHome": "yes", "PrivateTmp": "yes", "CapabilityBoundingSet": "",
                        "StateDirectory": "luoshi"}.items():
        assert settings[name] == value, name


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_systemd_accepts_the_unit_and_rates_it_well_protected(tmp_path):
    # The unit names the installed program; here any program stands in for it.
    unit = tmp_path / "luoshi.service"
    unit.write_text((DEPLOY / "luoshi.service").read_text(encoding="utf-8").replace(
        "/opt/luoshi/venv/bin/luoshi", "/bin/true"), encoding="utf-8")
    verified = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                              text=True)
    assert verified.returncode == 0 and not verified.stderr.strip(), verified.stderr
    rated = subprocess.run(["systemd-analyze", "security", "--offline=true", str(unit)],
                           capture_output=True, text=True)
    exposure = re.search(r"Overall exposure level for luoshi\.service: ([\d.]+)", rated.stdout)
    if exposure is None:
        pytest.skip(f"this systemd-analyze cannot rate units offline: {rated.stderr[:200]}")
    assert float(exposure.group(1)) <= 2.0, rated.stdout  # 0 best, 10 worst; "OK" up to 4.9


class Backend(http.server.BaseHTTPRequestHandler):
    """Stands in for the portal: answers with the request's headers and body size, and sets
    one header of its own that nginx must not repeat; a path ending in /broken hangs up without
    an answer (nginx: 502), one ending in /slow answers after nginx stopped waiting (504)."""

    def _answer(self) -> None:
        if self.path.endswith("/broken"):
            self.close_connection = True
            return
        if self.path.endswith("/slow"):
            time.sleep(SLOW + 1)
        size = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(size)
        body = json.dumps({"headers": dict(self.headers), "size": size}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Frame-Options", "SAMEORIGIN")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args) -> None:
        pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def nginx(folder: Path, upstream: int):
    """nginx with deploy/nginx.conf (its ports, certificate and upstream moved into the test)
    in front of whatever listens on 127.0.0.1:`upstream`; yields (https_port, http_port)."""
    if shutil.which("nginx") is None or shutil.which("openssl") is None:
        pytest.skip("needs nginx and openssl")
    made = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                           "2", "-subj", "/CN=luoshi.example.internal", "-keyout",
                           str(folder / "key.pem"), "-out", str(folder / "cert.pem")],
                          capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    https_port, http_port = free_port(), free_port()
    site = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    site = site.replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream};")
    site = re.sub(r"listen \[::\]:\d+[^;]*;\n", "", site)
    site = site.replace("listen 443 ssl", f"listen 127.0.0.1:{https_port} ssl")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    site = site.replace("/etc/luoshi/tls/luoshi.crt", str(folder / "cert.pem"))
    site = site.replace("/etc/luoshi/tls/luoshi.key", str(folder / "key.pem"))
    site = site.replace("/usr/share/luoshi/errors/", f"{DEPLOY / 'errors'}/")
    site = site.replace("proxy_read_timeout 600s;", f"proxy_read_timeout {SLOW}s;")
    (folder / "site.conf").write_text(site, encoding="utf-8")
    for name in ("logs", "temp"):
        (folder / name).mkdir()
    user = getpass.getuser()
    (folder / "nginx.conf").write_text(f"""
user {user};
worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/logs/error.log;
events {{ worker_connections 64; }}
http {{
    access_log {folder}/logs/access.log;
    client_body_temp_path {folder}/temp/body;
    proxy_temp_path {folder}/temp/proxy;
    fastcgi_temp_path {folder}/temp/fastcgi;
    uwsgi_temp_path {folder}/temp/uwsgi;
    scgi_temp_path {folder}/temp/scgi;
    include {folder}/site.conf;
}}
""", encoding="utf-8")
    command = ["nginx", "-p", str(folder), "-c", str(folder / "nginx.conf")]
    tested = subprocess.run([*command, "-t"], capture_output=True, text=True)
    assert tested.returncode == 0, tested.stderr
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", https_port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield https_port, http_port
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def proxy(tmp_path):
    """nginx in front of a Backend; yields (https_port, http_port)."""
    backend = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Backend)
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    try:
        with nginx(tmp_path, backend.server_port) as ports:
            yield ports
    finally:
        backend.shutdown()


def request(port: int, data: bytes | None = None, headers: dict | None = None,
            path: str = "/api/submissions"):
    """(status, headers, the JSON answered, else the text, else None)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    call = urllib.request.Request(f"https://127.0.0.1:{port}{path}", data=data,
                                  headers={"Host": "luoshi.example.internal", **(headers or {})})
    try:
        with urllib.request.urlopen(call, context=context, timeout=30) as response:
            status, answered, body = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, answered, body = error.code, error.headers, error.read()
    if answered.get_content_type() == "application/json":
        return status, answered, json.loads(body)
    return status, answered, body.decode("utf-8") or None


def test_nginx_proxies_over_tls_with_the_headers_and_the_upload_limit(proxy):
    https_port, http_port = proxy
    status, headers, seen = request(https_port, headers={"X-Forwarded-For": "6.6.6.6"})
    assert status == 200
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers.get_all("X-Frame-Options") == ["DENY"]  # the portal's own one is hidden
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert "nginx/" not in headers.get("Server", "")
    forwarded = seen["headers"]
    assert forwarded["X-Forwarded-Proto"] == "https"
    assert forwarded["X-Forwarded-For"] == "127.0.0.1"  # what the client claimed is dropped
    assert forwarded["X-Real-IP"] == "127.0.0.1" and forwarded["Host"] == "luoshi.example.internal"
    status, _, seen = request(https_port, data=b"x" * (UPLOAD_LIMIT - 1024))
    assert status == 200 and seen["size"] == UPLOAD_LIMIT - 1024
    status, headers, _ = request(https_port, data=b"x" * (UPLOAD_LIMIT + 1024))
    assert status == 413 and headers["X-Content-Type-Options"] == "nosniff"
    plain = urllib.request.Request(f"http://127.0.0.1:{http_port}/login",
                                   headers={"Host": "luoshi.example.internal"})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    with pytest.raises(urllib.error.HTTPError) as moved:
        urllib.request.build_opener(NoRedirect).open(plain, timeout=10)
    assert moved.value.code == 301
    assert moved.value.headers["Location"] == "https://luoshi.example.internal/login"


CHINESE = re.compile(r"[\u4e00-\u9fff]")
PAGE = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}  # what a browser asks for


def test_nginxs_own_errors_are_chinese_pages_and_json(proxy):
    """413 past client_max_body_size, 502 when the portal is down, 504 when it is too slow:
    nginx's English pages ("413 Request Entity Too Large", "502 Bad Gateway") became the
    portal's Chinese page for a person and {"detail": "…"} for a script, served by nginx from
    deploy/errors/ (the portal may be down), with the security headers."""
    https_port, _ = proxy
    big = b"x" * (UPLOAD_LIMIT + 1024)
    for code, path, data, sentence in ((413, "submit", big, "20 MB"),
                                       (502, "broken", None, "暂时无法访问"),
                                       (504, "slow", None, "10 分钟")):
        status, headers, answer = request(https_port, data, path=f"/api/{path}")
        assert status == code and headers.get_content_type() == "application/json", answer
        assert sentence in answer["detail"] and list(answer) == ["detail"]
        for url, accept in ((f"/{path}", {}), (f"/{path}", PAGE), (f"/api/{path}", PAGE)):
            status, headers, page = request(https_port, data, accept, path=url)
            assert status == code and headers["Content-Type"] == "text/html; charset=utf-8"
            assert '<html lang="zh-CN">' in page and sentence in page and "nginx" not in page
            assert '<link rel="stylesheet" href="/luoshi-errors/error.css">' in page
            assert headers["X-Content-Type-Options"] == "nosniff"
            assert "default-src 'self'" in headers["Content-Security-Policy"]
    status, headers, css = request(https_port, path="/luoshi-errors/error.css")
    assert status == 200 and headers.get_content_type() == "text/css" and "card.narrow" in css
    assert request(https_port, path="/luoshi-errors/502.html")[0] == 404  # only as an error page


def test_a_413_over_http2_is_the_chinese_page_too(proxy, tmp_path):
    """Browsers speak HTTP/2 to nginx, where error_page 413 fell back to nginx's English page
    (an nginx bug; deploy/nginx.conf works around it). urllib speaks only HTTP/1.1: curl here."""
    if shutil.which("curl") is None:
        pytest.skip("needs curl")
    https_port, _ = proxy
    body = tmp_path / "body"
    body.write_bytes(b"x" * (UPLOAD_LIMIT + 1024))
    for path, kind in (("/submit", "text/html"), ("/api/submissions", "application/json")):
        answered = subprocess.run(
            ["curl", "-sk", "--http2", "--data-binary", f"@{body}", "-H",
             "Host: luoshi.example.internal", "-w", "\n%{http_code} %{http_version} %{content_type}",
             f"https://127.0.0.1:{https_port}{path}"], capture_output=True, text=True, timeout=60)
        text, _, status = answered.stdout.rpartition("\n")
        assert status.split()[:2] == ["413", "2"] and status.split()[2].startswith(kind), status
        assert "20 MB 的上限" in text and "nginx" not in text, text


@pytest.fixture
def portal_behind_nginx(tmp_path):
    """The real portal (uvicorn, as `luoshi serve` runs it) behind the real nginx with
    deploy/nginx.conf; yields the HTTPS address."""
    from .portal import app_for, make_store, serving

    db = make_store(tmp_path)
    site = tmp_path / "nginx"
    site.mkdir()
    with serving(app_for(db)) as port, nginx(site, port) as (https_port, _):
        yield f"https://127.0.0.1:{https_port}"


def test_the_report_keeps_its_look_through_nginx(portal_behind_nginx, tmp_path):
    """deploy/nginx.conf hid the portal's Content-Security-Policy and put its own
    `default-src 'self'` in its place: the appraisal report's inline style was refused and the
    report showed unstyled. Through nginx, each answer keeps the portal's own policy (the
    report's allows its inline style, and no script), and Chromium draws the report styled,
    with no CSP refusal. The screenshot is in the test's folder (report-through-nginx.png)."""
    from luoshi.web.security import CSP, REPORT_CSP

    from .portal import PASSWORD

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.skip("needs Debian's chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    server = portal_behind_nginx
    with sync_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium,
                                         args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN",
                                ignore_https_errors=True)
        page.set_default_timeout(120_000)  # a loaded CI machine: a login and a check take a while
        refused: list[str] = []
        page.on("console", lambda message: refused.append(message.text)
                if message.type == "error" else None)
        answer = page.goto(f"{server}/login")
        assert answer is not None and answer.headers["content-security-policy"] == CSP
        page.fill("input[name=name]", "office1")
        page.fill("input[name=password]", PASSWORD["office1"])
        page.click("button[type=submit]")
        page.wait_for_url(f"{server}/")
        page.goto(f"{server}/checks")
        page.fill("input[name=year]", "2013")
        page.fill("input[name=as_of]", "2013-12-31")
        page.click("text=检查并记录")
        page.wait_for_selector("text=已完成并记录第 1 次检查")
        answer = page.goto(f"{server}/api/runs/1/report.html")
        assert answer is not None and answer.status == 200
        policy = answer.headers["content-security-policy"]
        assert answer.headers["strict-transport-security"].startswith("max-age=")
        heading = page.eval_on_selector("th", "e => getComputedStyle(e).backgroundColor")
        collapse = page.eval_on_selector("table", "e => getComputedStyle(e).borderCollapse")
        page.screenshot(path=str(tmp_path / "report-through-nginx.png"))
        browser.close()
    assert heading == "rgb(240, 242, 245)" and collapse == "collapse"  # the report's own style
    assert policy == REPORT_CSP
    assert not [text for text in refused if "Content Security Policy" in text], refused
