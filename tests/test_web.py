"""The web page: its JSON API through TestClient, the worker pool's time limit, and the page
itself in a real headless Chromium (Debian's, driven by playwright) against a real server.

The browser test writes screenshot-result.png and screenshot-error.png into its tmp dir, and
also into $MATRIXCALCULUS_SCREENSHOTS when that is set (`docs/` refreshes the committed ones).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
with warnings.catch_warnings():       # starlette would rather have httpx2
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

import matrixcalculus as mc  # noqa: E402
from matrixcalculus.api import Derivative  # noqa: E402
from matrixcalculus.cli import main as cli_main  # noqa: E402
from matrixcalculus.web import jobs  # noqa: E402
from matrixcalculus.web.app import (  # noqa: E402
    MAX_BODY_BYTES,
    STATIC,
    Engine,
    Unavailable,
    create_app,
)

QUAD = "x'*A*x"
LOSS = "-log(sigmoid(u'*v + c + d + b))"
BLOG = {"u": "vector(n)", "v": "vector(n)", "b": "scalar", "c": "scalar", "d": "scalar"}


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app()) as c:
        yield c


# ---------------------------------------------------------------- the page's files
def test_page_and_assets_are_served(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    html = r.text
    for asset in ("static/katex/katex.min.js", "static/katex/katex.min.css",
                  "static/app.js", "static/style.css", "static/favicon.svg"):
        assert asset in html
        a = client.get("/" + asset)
        assert a.status_code == 200 and len(a.content) > 100, asset


def test_page_needs_no_internet():
    """Our own files name no outside host; KaTeX's fonts are all shipped."""
    for name in ("index.html", "app.js", "style.css"):
        text = (STATIC / name).read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, name
    css = (STATIC / "katex" / "katex.min.css").read_text(encoding="utf-8")
    import re
    fonts = set(re.findall(r"url\((fonts/[^)]+\.woff2)\)", css))
    assert len(fonts) >= 15
    for f in fonts:
        assert (STATIC / "katex" / f).is_file(), f
    assert (STATIC / "katex" / "LICENSE").is_file()


# ---------------------------------------------------------------- POST /api/derivative
def test_derivative(client):
    r = client.post("/api/derivative", json={"expr": QUAD, "wrt": "x"})
    assert r.status_code == 200, r.text
    body = r.json()
    d = mc.derivative(QUAD, "x")
    assert {"text", "latex", "shape", "steps", "code", "check"} <= set(body)
    assert body["text"] == str(d) and body["latex"] == d.latex()
    assert body["shape"] == ["n"] and body["shape_text"] == "n"
    assert body["kind"] == "gradient" and body["wrt"] == "x" and body["order"] == 1
    assert body["title"] == d.title == "Gradient"   # the page's heading, said by the server
    assert body["extras"] == [] and body["einsum"] is None
    assert set(body["code"]) == {"numpy", "torch", "jax"}
    assert "def gradient" in body["code"]["numpy"] and "import torch" in body["code"]["torch"]
    assert "jax" in body["code"]["jax"]
    assert isinstance(body["check"]["message"], str) and body["check"]["message"]
    assert [v["name"] for v in body["variables"]] == ["x", "A"]
    assert body["variables"][1] == {"name": "A", "kind": "matrix", "shape": ["n", "n"],
                                    "declaration": "matrix(n,n)", "origin": "spelling"}
    assert body["notes"] == []
    r = client.post("/api/derivative", json={"expr": "norm2(X*theta - y)^2", "wrt": "theta"})
    body = r.json()
    assert [v["origin"] for v in body["variables"]] == ["spelling", "use", "spelling"]
    assert len(body["notes"]) == 1 and body["notes"][0].startswith("theta is read as a vector")


def test_hessian_and_declarations(client):
    r = client.post("/api/derivative", json={"expr": QUAD, "wrt": "x", "order": 2,
                                             "vars": {"A": "symmetric(n)"}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["kind"] == "hessian" and body["shape"] == ["n", "n"]
    assert body["text"] == str(mc.derivative(QUAD, "x", vars={"A": "symmetric(n)"}, order=2))
    assert body["hvp"]["text"] == "2*A*dx" and "def hvp(" in body["hvp"]["code"]
    r = client.post("/api/derivative", json={
        "expr": "sum(A*X)", "wrt": "X", "vars": {"A": "matrix(m,n)", "X": "matrix(n,k)"}})
    assert r.status_code == 200 and r.json()["shape"] == ["n", "k"]
    assert r.json()["hvp"] is None                     # a gradient: no Hessian product


def test_reference_example(client):
    r = client.post("/api/derivative", json={"expr": LOSS, "wrt": "u", "vars": BLOG})
    assert r.status_code == 200
    assert r.json()["text"] == str(mc.derivative(LOSS, "u", vars=BLOG))


def test_wrt_defaults_to_the_first_variable(client):
    r = client.post("/api/derivative", json={"expr": "tr(X'*B*X)"})
    assert r.status_code == 200 and r.json()["wrt"] == "X"


def test_syntax_error_has_the_position(client):
    r = client.post("/api/derivative", json={"expr": "x'*A*", "wrt": "x"})
    assert r.status_code == 400
    e = r.json()
    assert e["error"] == "syntax error" and e["in"] == "expr"
    assert e["pos"] == 5 and e["end"] == 6
    line, caret = e["caret"].split("\n")
    assert line == "x'*A*" and caret.index("^") == 5
    with pytest.raises(mc.MatrixCalculusError) as info:
        mc.derivative("x'*A*", "x")
    assert e["message"] == info.value.message


def test_other_errors(client):
    r = client.post("/api/derivative", json={"expr": QUAD, "wrt": "y"})
    assert r.status_code == 400 and "not a variable" in r.json()["message"]
    r = client.post("/api/derivative", json={"expr": QUAD, "wrt": "x", "vars": {"A": "matrix(n"}})
    assert r.status_code == 400 and r.json()["in"] == "vars" and r.json()["pos"] is not None
    r = client.post("/api/derivative", json={"expr": "x'*A*y", "wrt": "x",
                                             "vars": {"A": "matrix(m,k)", "x": "vector(n)"}})
    assert r.status_code == 400 and r.json()["error"] == "shape error"
    r = client.post("/api/derivative", json={"expr": QUAD, "wrt": "x", "order": 9})
    assert r.status_code == 400 and r.json()["error"] == "limit exceeded"


def test_input_limits(client):
    long = "+".join(["x'*x"] * (mc.LIMITS.max_input_length // 4 + 1))
    r = client.post("/api/derivative", json={"expr": long, "wrt": "x"})
    assert r.status_code == 413 and "limit" in r.json()["message"]
    r = client.post("/api/variables", json={"expr": long})
    assert r.status_code == 413
    deep = "(" * 1000 + "x" + ")" * 1000 + "'*x"
    r = client.post("/api/derivative", json={"expr": deep, "wrt": "x"})
    assert r.status_code == 400 and r.json()["error"] == "limit exceeded"
    r = client.post("/api/derivative", content=b"{" + b" " * MAX_BODY_BYTES + b"}",
                    headers={"content-type": "application/json"})
    assert r.status_code == 413
    r = client.post("/api/derivative", json={"expr": QUAD,
                                             "vars": {f"v{i}": "scalar" for i in range(200)}})
    assert r.status_code == 413


def test_malformed_request(client):
    r = client.post("/api/derivative", json={"expr": 3})
    assert r.status_code == 422 and r.json()["error"] == "bad request"
    r = client.post("/api/derivative", json={"wrt": "x"})
    assert r.status_code == 422 and "expr" in r.json()["message"]


def test_variables(client):
    r = client.post("/api/variables", json={"expr": "sum(A*X) + alpha"})
    assert r.status_code == 200
    got = {v["name"]: (v["kind"], len(v["shape"])) for v in r.json()["variables"]}
    assert got == {"A": ("matrix", 2), "X": ("matrix", 2), "alpha": ("scalar", 0)}
    r = client.post("/api/variables", json={"expr": QUAD, "vars": {"A": "symmetric(k)"}})
    assert {v["name"]: v["declaration"] for v in r.json()["variables"]} == {
        "x": "vector(k)", "A": "symmetric(k)"}
    r = client.post("/api/variables", json={"expr": "x'*"})
    assert r.status_code == 400 and r.json()["pos"] == 3


def test_health(client):
    r = client.get("/api/health")
    assert r.status_code == 200 and r.json()["ok"] is True


# ---------------------------------------------------------------- time limit and workers
def test_timeout_answers_503_and_the_server_recovers():
    app = create_app(workers=1, warm=False)
    with TestClient(app) as c:
        engine = app.state.engine
        engine.timeout = 0            # nothing finishes in no time
        r = c.post("/api/derivative", json={"expr": QUAD, "wrt": "x"})
        assert r.status_code == 503 and r.json()["error"] == "timeout"
        assert "longer than" in r.json()["message"]
        assert engine.restarts == 1
        engine.timeout = 30
        r = c.post("/api/derivative", json={"expr": QUAD, "wrt": "x"})
        assert r.status_code == 200


def test_a_stuck_job_is_killed_and_does_not_block_others():
    async def scenario():
        engine = Engine(workers=2, timeout=8.0)
        engine.start()
        try:
            await asyncio.gather(engine.run(jobs.ping, None), engine.run(jobs.ping, None))
            old = set(engine.pids())
            t0 = time.perf_counter()
            stuck = asyncio.ensure_future(engine.run(time.sleep, 120))
            await asyncio.sleep(0.2)
            quick = await engine.run(jobs.derive, {"expr": QUAD, "wrt": "x"})
            quick_done_first = not stuck.done()
            with pytest.raises(Unavailable) as info:
                await stuck
            assert info.value.error == "timeout" and "longer than 8 s" in info.value.message
            assert time.perf_counter() - t0 < 60
            assert engine.restarts == 1
            now = set(engine.pids())
            assert len(now) == 2 and len(old & now) == 1  # only the stuck worker was replaced
            assert not any(_alive(pid) for pid in old - now)
            engine.timeout = 60
            after = await engine.run(jobs.derive, {"expr": QUAD, "wrt": "x", "order": 2})
            return quick, quick_done_first, after, old, now
        finally:
            engine.close()

    quick, quick_done_first, after, old, now = asyncio.run(scenario())
    assert quick["status"] == 200 and quick_done_first   # answered while the other one hung
    assert after["status"] == 200 and after["body"]["kind"] == "hessian"
    for pid in old | now:                                # close() stopped them all
        assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:    # a zombie is dead too
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


# ---------------------------------------------------------------- steps and check, if present
def test_steps_and_check_when_the_derivative_has_them(monkeypatch):
    class Steps:
        def text(self):
            return "d(x'*A*x) = ..."

        def latex(self):
            return r"\mathrm{d}(x^\top A x)"

    class Verdict:
        ok = True
        max_rel_error = 3e-10
        message = "verified at 5 random points"

    monkeypatch.setattr(Derivative, "steps", lambda self: Steps(), raising=False)
    monkeypatch.setattr(Derivative, "check", lambda self, *a, **k: Verdict(), raising=False)
    body = jobs.derive({"expr": QUAD, "wrt": "x"})["body"]
    assert body["steps"] == {"text": "d(x'*A*x) = ...", "latex": r"\mathrm{d}(x^\top A x)"}
    assert body["check"] == {"ok": True, "max_rel_error": 3e-10,
                             "message": "verified at 5 random points"}


def test_steps_and_check_degrade_when_absent(monkeypatch):
    monkeypatch.setattr(Derivative, "steps", None, raising=False)
    monkeypatch.setattr(Derivative, "check", None, raising=False)
    body = jobs.derive({"expr": QUAD, "wrt": "x"})["body"]
    assert body["steps"] is None
    assert body["check"] == {"ok": None, "max_rel_error": None, "message": "not available"}


def test_check_failure_is_reported_not_raised(monkeypatch):
    def broken(self, *a, **k):
        raise ValueError("no points in the domain")

    monkeypatch.setattr(Derivative, "check", broken, raising=False)
    body = jobs.derive({"expr": QUAD, "wrt": "x"})["body"]
    assert body["check"]["ok"] is None and "no points" in body["check"]["message"]


def test_serve_help(capsys):
    assert cli_main(["serve", "--help"]) == 0
    assert "--port" in capsys.readouterr().out


# ---------------------------------------------------------------- the page in a real browser
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    """`matrixcalculus serve` on a free loopback port, stopped (with its workers) at the end."""
    import httpx

    port = _free_port()
    script = Path(sys.executable).with_name("matrixcalculus")
    cmd = ([str(script)] if script.exists() else
           [sys.executable, "-c", "import sys; from matrixcalculus.cli import main; "
            "sys.exit(main(sys.argv[1:]))"])
    cmd += ["serve", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the server exited: {proc.stdout.read().decode(errors='replace')}")
            try:
                if httpx.get(base + "api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("the server did not answer within 60 s")
            time.sleep(0.2)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)          # graceful: the app stops its workers
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the group this fixture started
            proc.wait(timeout=5)
        if proc.stdout:
            proc.stdout.close()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        msg = f"no Chromium at {CHROMIUM} (apt-get install chromium; scripts/dev.py does)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            yield b
        finally:
            b.close()


def _watch(page, base: str) -> dict[str, list[str]]:
    """Block and record every request that leaves the server; record page errors."""
    seen: dict[str, list[str]] = {"outside": [], "errors": [], "failed": []}

    def route(r):
        if r.request.url.startswith(base):
            r.continue_()
        else:
            seen["outside"].append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("requestfailed", lambda r: seen["failed"].append(r.url))
    return seen


def _save(page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    out = os.environ.get("MATRIXCALCULUS_SCREENSHOTS")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(out) / name)
    return path


def test_page_in_a_real_browser(server, browser, tmp_path):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1100, "height": 900})
    seen = _watch(page, server)
    page.goto(server)

    # type an expression, choose what to differentiate by, ask
    page.locator("#expr").press_sequentially(LOSS)
    page.wait_for_selector("#wrt option[value=u]", state="attached")
    page.select_option("#wrt", "u")
    page.press("#expr", "Enter")
    page.wait_for_selector("#math .katex", timeout=30_000)

    expected = mc.derivative(LOSS, "u")
    tex = page.locator("#math annotation").text_content()
    assert tex.strip() == expected.latex()
    assert page.locator("#text").text_content().strip() == expected.text(multiline=True)
    assert page.locator("#shape").text_content() == "n"
    # every variable as read, with where its type came from, and the notes
    read_as = page.locator("#read-as").text_content()
    assert all(f"{v.name}: " in read_as and f"({v.origin})" in read_as
               for v in expected.variables.values()), read_as
    notes = page.locator("#notes li").all_text_contents()
    assert notes == [f"note: {n}" for n in expected.notes]
    assert "Gradient" in page.locator("#result-title").text_content()
    assert page.locator("#check").text_content().startswith(("Numerical check", "✓", "✗"))
    assert "def gradient" in page.locator("#code").text_content()
    page.click("[data-backend=torch]")
    assert "import torch" in page.locator("#code").text_content()
    page.click("[data-backend=jax]")
    assert "jax" in page.locator("#code").text_content()
    page.click("[data-backend=numpy]")
    # the variables' types, inferred, in selects
    assert page.locator("tr[data-name=u] select").input_value() == "vector"
    assert page.locator("tr[data-name=b] select").input_value() == "scalar"
    assert page.locator("#math .katex-error").count() == 0
    if page.locator("#steps-box").is_visible():       # d.steps() is there: shown as math
        page.click("#steps-box summary")
        expect(page.locator("#steps-math .katex").first).to_be_visible()
        assert page.locator("#steps-math .katex-error").count() == 0
        # a table that fits its column (it was cut off on the right)
        expect(page.locator("#steps-math table.steps")).to_be_visible()
        width, scroll = page.locator("#steps-math").evaluate(
            "e => [e.clientWidth, e.scrollWidth]")
        assert scroll <= width, (scroll, width)
        page.click("#steps-box summary")
    # KaTeX's fonts came from the server
    assert page.evaluate("document.fonts.ready.then(() => document.fonts.check('16px KaTeX_Main'))")
    assert "expr=" in page.url and "wrt=u" in page.url
    _save(page, tmp_path, "screenshot-result.png")

    # the link alone brings the answer back
    shared = browser.new_page()
    seen_shared = _watch(shared, server)
    shared.goto(page.url)
    shared.wait_for_selector("#math .katex", timeout=30_000)
    assert shared.locator("#math annotation").text_content().strip() == expected.latex()
    shared.close()

    # changing a type declares the variable, re-derives and goes into the URL
    page.fill("#expr", QUAD)
    page.press("#expr", "Enter")
    expect(page.locator("#result-title")).to_contain_text(QUAD)
    page.select_option("tr[data-name=A] select", "symmetric")
    expect(page.locator("#text")).to_have_text("2*A*x")
    assert page.locator("#hvp-box").is_hidden()       # a gradient

    # a Hessian: its product with a direction too, as math
    page.select_option("#order", "2")
    expect(page.locator("#hvp-text")).to_have_text("2*A*dx")
    page.click("#hvp-box summary")
    expect(page.locator("#hvp-math .katex")).to_be_visible()
    assert page.locator("#hvp-math .katex-error").count() == 0
    page.select_option("#order", "1")
    expect(page.locator("#text")).to_have_text("2*A*x")
    expect(page.locator("tr[data-name=A] button.reset")).to_be_visible()
    assert "var=A%3Asymmetric" in page.url

    # a mixed derivative: "a list" in the wrt select, then the variables in order
    page.fill("#expr", "x'*B*y")
    page.press("#expr", "Enter")
    expect(page.locator("#result-title")).to_contain_text("x'*B*y")
    page.select_option("#wrt", "__list__")
    assert page.locator("#order").is_disabled()
    page.fill("#wrt-list", "x, y")
    page.press("#wrt-list", "Enter")
    expect(page.locator("#result-title")).to_contain_text("Mixed derivative")
    expect(page.locator("#text")).to_have_text("B")
    expect(page.locator("#hvp-text")).to_have_text("B*dy")
    assert "wrt=x%2C+y" in page.url
    page.select_option("#wrt", "x")
    expect(page.locator("#result-title")).to_contain_text("Gradient")

    # a 4-index answer: the server's extras (einsum, vec form) under its text
    page.fill("#expr", "C*X*B")
    page.press("#expr", "Enter")
    expect(page.locator("#result-title")).to_contain_text("C*X*B")
    page.select_option("#wrt", "X")
    expect(page.locator("#text")).to_contain_text("vec form: kron(B', C)")
    expect(page.locator("#text")).to_contain_text('einsum: einsum("ik,lj->ijkl", C, B)')

    # a bad expression: the error inline, with the caret under the position
    page.fill("#expr", "x'*A*")
    page.click("#go")
    page.wait_for_selector("#error:not([hidden])")
    assert "ends too early" in page.locator("#error .error-message").text_content()
    line, caret = page.locator("#error .error-caret").text_content().split("\n")
    assert line == "x'*A*" and caret.index("^") == 5
    assert page.locator("#result").is_hidden()
    _save(page, tmp_path, "screenshot-error.png")

    assert seen["outside"] == [] and seen_shared["outside"] == []
    assert seen["errors"] == [] and seen_shared["errors"] == []
    assert seen["failed"] == []
    page.close()


# ---------------------------------------------------------------- added with the load test
def test_health_reports_restarts_and_errors_share_one_format(client):
    h = client.get("/api/health").json()
    assert h["restarts"] == 0 and h["queue_timeout_s"] > h["timeout_s"]
    for method, path, status in (("GET", "/api/nothing", 404), ("GET", "/api/derivative", 405)):
        r = client.request(method, path)
        assert r.status_code == status
        assert r.json()["error"] and r.json()["message"], r.text


def test_the_engine_stops_itself_within_the_request_time_limit():
    """The server passes time_limit (a share of its hard limit): a long derivation ends in
    a 400 "limit exceeded" in the worker instead of a killed worker."""
    deep = "softmax(" * 8 + "W*x" + ")" * 8
    t0 = time.perf_counter()
    out = jobs.derive({"expr": deep, "wrt": "W", "time_limit": 0.3})
    assert out["status"] == 400 and out["body"]["error"] == "limit exceeded"
    assert "time limit" in out["body"]["message"]
    assert time.perf_counter() - t0 < 3
    assert jobs.derive({"expr": QUAD, "wrt": "x", "time_limit": 30})["status"] == 200


def test_the_page_lists_the_functions_from_the_rows():
    from fastapi.testclient import TestClient

    from matrixcalculus import ops
    from matrixcalculus.web.app import create_app
    with TestClient(create_app(workers=1)) as client:
        page = client.get("/").text
    assert "<!--functions-->" not in page
    for r in ops.rows():
        assert f" {r.name} " in f" {page} " or f">{r.name} " in page or f" {r.name}<" in page
