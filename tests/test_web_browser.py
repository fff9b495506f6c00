"""The portal in a real browser: Debian's Chromium driven by Playwright (no browser is
downloaded). A unit logs in, uploads its template with a mistake, sees the problem at its
Sheet!row, fixes it and resubmits; the office runs a check; the unit downloads its notice.
Every page is photographed at 1366×768 (into $LUOSHI_SCREENSHOTS if set, else a temporary
folder) for a person to look at."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from .portal import PASSWORD, app_for, make_store, serving, with_row

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip("browser tests need Debian's chromium (apt-get install -y chromium)",
                allow_module_level=True)
playwright = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    db = make_store(tmp_path_factory.mktemp("browser"))
    with serving(app_for(db)) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM,
                                          args=["--no-sandbox", "--disable-gpu"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("LUOSHI_SCREENSHOTS") or tmp_path_factory.mktemp("screens"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _page(browser, server, name: str, lands: str = "/", width: int = 1366):  # noqa: ANN001, ANN202
    context = browser.new_context(viewport={"width": width, "height": 768 if width > 800 else 844},
                                  locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    # Script errors and CSP refusals; a 404 or 422 the test asks for is not one.
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource")
            else None)
    page.goto(f"{server}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD[name])
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}{lands}")
    page.errors = errors  # type: ignore[attr-defined]
    return page


def _shoot(page, shots: Path, name: str) -> None:  # noqa: ANN001
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)


def test_a_unit_submits_fixes_and_gets_its_notice(server, browser, shots, tmp_path):
    login = browser.new_page(viewport={"width": 1366, "height": 768})
    login.goto(f"{server}/login")
    _shoot(login, shots, "01-login")
    login.close()

    unit = _page(browser, server, "caizheng")
    unit.goto(f"{server}/?year=2013&as_of=2013-12-31")
    assert "本单位落实情况" in unit.content()
    _shoot(unit, shots, "02-unit-home")

    unit.click("nav >> text=报送")
    with unit.expect_download() as download:
        unit.click("text=下载报送模板")
    template = Path(download.value.path()).read_bytes()
    _shoot(unit, shots, "03-unit-submit")

    wrong, where = with_row(template, "education",
                            {"unit": "cb-cz", "date": "2013-02-30", "title": "廉政教育"})
    (tmp_path / "报送.xlsx").write_bytes(wrong)
    unit.set_input_files("input[type=file]", str(tmp_path / "报送.xlsx"))
    unit.click("text=上传并校验")
    unit.wait_for_selector("table.problems")
    text = unit.inner_text("main")
    assert "未接收" in text and where in text and "E306" in text
    _shoot(unit, shots, "04-unit-problems")

    right, _ = with_row(template, "education",
                        {"unit": "cb-cz", "date": "2013-02-28", "title": "廉政教育"})
    (tmp_path / "报送.xlsx").write_bytes(right)
    unit.set_input_files("input[type=file]", str(tmp_path / "报送.xlsx"))
    unit.click("text=上传并校验")
    unit.wait_for_selector("text=已接收")
    _shoot(unit, shots, "05-unit-accepted")
    unit.click("text=查看这次报送")
    assert "报送.xlsx" in unit.inner_text("main")
    _shoot(unit, shots, "06-unit-submission")

    office = _page(browser, server, "office1")
    office.goto(f"{server}/?year=2013&as_of=2013-12-31")
    assert "已报送" in office.inner_text("main")  # cb-cz, just now
    _shoot(office, shots, "07-office-home")
    office.click("nav >> text=检查")
    office.fill("input[name=year]", "2013")
    office.fill("input[name=as_of]", "2013-06-30")
    office.click("text=检查并记录")
    office.wait_for_selector("text=已完成并记录第 1 次检查")
    office.fill("input[name=as_of]", "2013-12-31")
    office.click("text=检查并记录")
    office.wait_for_selector("text=已完成并记录第 2 次检查")
    _shoot(office, shots, "08-office-checks")
    office.click("text=比较所选的两次检查")
    assert "新出现" in office.inner_text("main")
    _shoot(office, shots, "09-office-diff")
    for link, name in (("文书", "10-office-notices"), ("考核", "11-office-report"),
                       ("报送", "14-office-submit")):
        office.click(f"nav >> text={link}")
        _shoot(office, shots, name)
    auditor = _page(browser, server, "auditor1", "/audit")
    _shoot(auditor, shots, "12-auditor-audit")
    admin = _page(browser, server, "admin1", "/users")
    _shoot(admin, shots, "13-admin-users")
    office.goto(f"{server}/api/runs/2/report.html")
    _shoot(office, shots, "15-office-report-html")

    unit.click("nav >> text=文书")
    _shoot(unit, shots, "16-unit-notices")
    with unit.expect_download() as download:
        unit.click("text=整改通知书（DOCX）")
    assert download.value.suggested_filename.endswith(".docx")
    assert Path(download.value.path()).read_bytes()[:2] == b"PK"
    unit.goto(f"{server}/api/runs/2/notices/cb-gh")
    assert "没有找到" in unit.content()
    _shoot(unit, shots, "17-unit-404")
    for page in (unit, office, auditor, admin):  # no script error, no CSP refusal
        assert not page.errors


def test_error_pages_are_the_portals_own_in_chinese(server, browser, shots):
    """An unknown address and a wrong way of opening one (GET /logout from the address bar)
    show the portal's page in Chinese, not Starlette's English text."""
    page = _page(browser, server, "caizheng")
    for url, heading, name in (("/no/such/page", "没有找到", "18-unit-error-404"),
                               ("/logout", "不支持的操作", "19-unit-error-405")):
        answer = page.goto(f"{server}{url}")
        assert answer is not None and answer.status in (404, 405)
        assert page.inner_text("main h1") == heading
        assert "Not Found" not in page.content() and "Method Not Allowed" not in page.content()
        _shoot(page, shots, name)
    assert not page.errors


def test_the_pages_of_accounts_at_desktop_and_phone_widths(server, browser, shots):
    """我的账号 (changing one's password, enrolling a second factor with its QR code), the login's
    second step, the administrator's 账号 and the auditor's 审计日志 filtered, each at 1366 and
    390 pixels wide."""
    import re

    import pyotp

    for width in (1366, 390):
        suffix = "" if width > 800 else "-390"
        admin = _page(browser, server, "admin1", "/users", width)
        _shoot(admin, shots, f"20-admin-users{suffix}")
        auditor = _page(browser, server, "auditor1", "/audit", width)
        auditor.select_option("select[name=action]", "login")
        auditor.click("text=筛选")
        assert "登录" in auditor.inner_text("table.audit")
        _shoot(auditor, shots, f"21-auditor-audit-filtered{suffix}")
        unit = _page(browser, server, "gonghui", "/", width)
        unit.click(".who a.me")
        _shoot(unit, shots, f"22-unit-account{suffix}")
        for page in (admin, auditor, unit):
            assert not page.errors
    unit = _page(browser, server, "gonghui")
    unit.goto(f"{server}/account?enrol=1")
    assert unit.locator(".enrol img").evaluate("e => e.naturalWidth") > 0  # the QR code drawn
    _shoot(unit, shots, "23-unit-enrol")
    secret = re.sub(r"\s", "", unit.inner_text("code.secret"))
    unit.fill("input[name=code]", pyotp.TOTP(secret).now())
    unit.click("button:has-text('绑定')")
    unit.wait_for_selector("text=已绑定双因素验证")
    for width in (1366, 390):
        context = browser.new_context(viewport={"width": width, "height": 768}, locale="zh-CN")
        page = context.new_page()
        page.goto(f"{server}/login")
        page.fill("input[name=name]", "gonghui")
        page.fill("input[name=password]", PASSWORD["gonghui"])
        page.click("button[type=submit]")
        page.wait_for_url(f"{server}/login/next")
        _shoot(page, shots, f"24-login-code{'' if width > 800 else '-390'}")
        context.close()
