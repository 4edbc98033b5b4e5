"""A bounded loopback load test of `matrixcalculus serve`.

    python bench/load_test.py                           # 2,000 requests from 8 clients
    python bench/load_test.py -n 300 -c 8 --json out.json
    python bench/load_test.py --server-timeout 10       # the server's default time limit

The server runs with a 4 s time limit by default (`serve --timeout 4`; its own default is 10 s)
so that the heavy requests reach it, and the run ends, sooner; the mechanism is the same.

It starts the server itself (`matrixcalculus serve --port P`, no --host: the default address is
checked to be 127.0.0.1 in /proc/net/tcp), waits until /api/health answers, and sends N requests
from C client threads (stdlib http.client, one keep-alive connection per client) drawn with a
fixed seed from three classes:

    valid    ~70%  gradients, Hessians, Jacobians, /api/variables; with and without `check`
    invalid  ~20%  syntax errors, unknown functions, shape clashes, wrong wrt, empty input,
                   100 kB input, deep nesting, unicode, __import__('os'), hostile names, bad
                   declarations and orders, malformed JSON, unknown paths and methods
    heavy    ~10%  answers over the size limit, nesting at the depth limit, derivations that
                   run into the engine's time limit, numerical checks that run past the
                   server's time limit

What is expected of each answer (anything else is an unexpected error, exit status 1):

    valid    200
    invalid  4xx with a JSON body {error, message}
    heavy    200; 4xx with {error, message} (an engine limit); or 503 with error "timeout"
             (the derivation ran past the server's time limit: its worker was killed and
             replaced) or "busy" (it waited for a free worker longer than the queue timeout)
    any      never a 500 or another 5xx, never a dropped connection

While it runs it samples, every 0.2 s, the resident memory (VmRSS) of the server process and of
all its descendants (the derivation workers) from /proc, and each process's high-water mark
(VmHWM).  /api/health reports the number of worker restarts, which must not exceed the
number of 503 "timeout" answers (any other restart is a worker that died).  At the end the
server must still answer a valid request.

Importable: `run_load(...)` returns the summary dict the script prints (see tests/test_web_load.py).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MIX = {"valid": 0.70, "invalid": 0.20, "heavy": 0.10}
TIMEOUT_ERRORS = {"timeout", "busy"}       # the documented 503 answers (heavy class only)


# ------------------------------------------------------------------------------ the requests
@dataclass(frozen=True)
class Case:
    cls: str                   # "valid", "invalid", "heavy"
    name: str
    method: str = "POST"
    path: str = "/api/derivative"
    body: bytes | None = None
    content_type: str = "application/json"


def _post(cls: str, name: str, payload: Any, path: str = "/api/derivative") -> Case:
    return Case(cls, name, "POST", path, json.dumps(payload).encode())


def _d(expr: str, wrt: str | None = None, order: int = 1, vars: dict | None = None,
       check: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"expr": expr, "order": order, "check": check}
    if wrt is not None:
        out["wrt"] = wrt
    if vars:
        out["vars"] = vars
    return out


SYM = {"S": "symmetric(n)", "C": "symmetric(n)"}
BLOG = {"u": "vector(n)", "v": "vector(n)", "b": "scalar"}

# (name, payload without `check`); each is sent with check on and off
VALID = [
    ("sigmoid(u'v+b) wrt u", _d("sigmoid(u'*v + b)", "u", vars=BLOG)),
    ("-log sigmoid wrt u", _d("-log(sigmoid(u'*v + b))", "u", vars=BLOG)),
    ("logistic loss wrt w", _d("sum(log(1+exp(-y.*(X*w))))", "w")),
    ("logistic loss hessian", _d("sum(log(1+exp(-y.*(X*w))))", "w", 2)),
    ("gaussian nll wrt S", _d("logdet(S) + tr(inv(S)*C)", "S", vars=SYM)),
    ("gaussian nll hessian", _d("logdet(S) + tr(inv(S)*C)", "S", 2, SYM)),
    ("factorization wrt U", _d("norm2(R - U*V')^2", "U")),
    ("factorization wrt V", _d("norm2(R - U*V')^2", "V")),
    ("quadratic form", _d("x'*A*x", "x")),
    ("quadratic form hessian", _d("x'*A*x", "x", 2)),
    ("quadratic form sym hessian", _d("x'*A*x", "x", 2, {"A": "symmetric(n)"})),
    ("least squares", _d("norm2(A*x - b)^2", "x")),
    ("least squares hessian", _d("norm2(A*x - b)^2", "x", 2)),
    ("softmax jacobian", _d("softmax(W*x)", "x")),
    ("softmax jacobian wrt W", _d("softmax(W*x)", "W")),
    ("sigmoid jacobian", _d("sigmoid(W*x)", "x")),
    ("trace wrt X", _d("tr(X'*B*X)", "X")),
    ("trace hessian", _d("tr(X'*B*X)", "X", 2)),
    ("sum(A*X) declared", _d("sum(A*X)", "X", vars={"A": "matrix(m,n)", "X": "matrix(n,k)"})),
    ("mlp layer", _d("sum(tanh(W2*tanh(W1*x)))", "W1")),
    ("wrt omitted", _d("tr(X'*B*X)")),
    ("order 3", _d("sum(exp(A*x))", "x", 3)),
    ("dunder variable name", _d("__class__'*x", "x")),     # a plain name, never evaluated
]
VARIABLES = [
    ("variables", {"expr": "sum(A*X) + alpha"}),
    ("variables declared", {"expr": "x'*A*x", "vars": {"A": "symmetric(k)"}}),
]


def _invalid_cases() -> list[Case]:
    quad = "x'*A*x"
    deep = "(" * 1000 + "x" + ")" * 1000 + "'*x"
    cases = [
        _post("invalid", "syntax: ends early", _d("x'*A*", "x")),
        _post("invalid", "syntax: open paren", _d("(x'*x", "x")),
        _post("invalid", "syntax: **", _d("x**2", "x")),
        _post("invalid", "syntax: stray operator", _d("x' * * A", "x")),
        _post("invalid", "unknown function", _d("foo(x)'*x", "x")),
        _post("invalid", "unknown function 2", _d("sum(erfcx(x))", "x")),
        _post("invalid", "shape clash", _d("x'*A*y", "x", vars={"A": "matrix(m,k)",
                                                                "x": "vector(n)"})),
        _post("invalid", "shape clash: A*B", _d("sum(A*B)", "A", vars={"A": "matrix(m,n)",
                                                                       "B": "matrix(k,l)"})),
        _post("invalid", "shape clash: x+y", _d("sum(x+y)", "x", vars={"x": "vector(n)",
                                                                       "y": "vector(m)"})),
        _post("invalid", "wrong wrt", _d(quad, "y")),
        _post("invalid", "wrt not a name", _d(quad, "1x")),
        _post("invalid", "wrt hostile", _d(quad, "x; rm -rf /")),
        _post("invalid", "empty", _d("", "x")),
        _post("invalid", "blank", _d("   \n\t ", None)),
        _post("invalid", "no variable", _d("1 + 2", None)),
        _post("invalid", "100 kB input", _d("x'*x+" * 20_000 + "x'*x", "x")),
        _post("invalid", "deep nesting", _d(deep, "x")),
        _post("invalid", "deep minus", _d("-" * 5000 + "x'*x", "x")),
        _post("invalid", "unicode letters", _d("x'*Ä*x", "x")),
        _post("invalid", "unicode math", _d("∑(x) + 𝑥'*x", "x")),
        _post("invalid", "unicode bidi and NUL", _d("x'*\u202eA\u202c*x\x00", "x")),
        _post("invalid", "emoji", _d("x'*🙂*x", "x")),
        _post("invalid", "__import__", _d("__import__('os').system('id')", "x")),
        _post("invalid", "dunder call", _d("__class__(x)'*x", "x")),
        _post("invalid", "eval", _d("eval(x)'*x", "x")),
        _post("invalid", "html", _d("<script>alert(1)</script>", "x")),
        _post("invalid", "jndi", _d("${jndi:ldap://127.0.0.1/a}", "x")),
        _post("invalid", "statement", _d("x'*A*x; import os", "x")),
        _post("invalid", "order 0", _d(quad, "x", 0)),
        _post("invalid", "order -1", _d(quad, "x", -1)),
        _post("invalid", "order 99", _d(quad, "x", 99)),
        _post("invalid", "bad declaration", _d(quad, "x", vars={"A": "matrix(n"})),
        _post("invalid", "hostile declaration", _d(quad, "x", vars={"A": "exec('rm -rf /')"})),
        _post("invalid", "declaration of unknown kind", _d(quad, "x", vars={"A": "blob(3)"})),
        _post("invalid", "too many declarations",
              _d(quad, "x", vars={f"v{i}": "scalar" for i in range(200)})),
        _post("invalid", "long declaration", _d(quad, "x", vars={"A": "matrix(" + "n" * 300
                                                                  + ",n)"})),
        _post("invalid", "variables: syntax", {"expr": "x'*"}, "/api/variables"),
        _post("invalid", "variables: unicode", {"expr": "ξ'*x"}, "/api/variables"),
        _post("invalid", "order is text", {"expr": quad, "wrt": "x", "order": "two"}),
        _post("invalid", "expr is a number", {"expr": 3, "wrt": "x"}),
        _post("invalid", "expr missing", {"wrt": "x"}),
        _post("invalid", "vars is a list", {"expr": quad, "vars": ["A"]}),
        Case("invalid", "malformed JSON", body=b'{"expr": "x\'*x", '),
        Case("invalid", "not JSON", body=b"x'*A*x", content_type="text/plain"),
        Case("invalid", "JSON array", body=b"[1, 2, 3]"),
        Case("invalid", "invalid UTF-8", body=b'{"expr": "\xff\xfe"}'),
        Case("invalid", "body over 256 kB", body=b"{" + b" " * 300_000 + b"}"),
        Case("invalid", "unknown path", "GET", "/api/nothing"),
        Case("invalid", "traversal", "GET", "/static/..%2f..%2fapp.py"),
        Case("invalid", "wrong method", "GET", "/api/derivative"),
    ]
    return cases


def _heavy_cases() -> list[Case]:
    def nest(fn: str, depth: int, inner: str) -> str:
        return f"{fn}(" * depth + inner + ")" * depth

    long_sum = " + ".join(f"sigmoid(w'*x{i})" for i in range(60))
    return [
        # the answer is over the size limit (a few seconds of work, then 400)
        _post("heavy", "softmax^4 hessian", _d(nest("softmax", 4, "W*x"), "W", 2)),
        _post("heavy", "softmax^8 jacobian", _d(nest("softmax", 8, "W*x"), "W", 1)),
        # just under the depth limit: the engine's own time limit (LIMITS.max_seconds)
        _post("heavy", "sigmoid^150 hessian", _d("sum(" + nest("sigmoid", 150, "x") + ")",
                                                 "x", 2)),
        # fast engine limits
        _post("heavy", "order 5", _d("x'*A*x", "x", 5)),
        _post("heavy", "sum of 400 terms", _d(" + ".join(f"x{i}'*x" for i in range(400)), "x")),
        # long, but within every limit
        _post("heavy", "sum of 60 terms, hessian", _d(long_sum, "w", 2, check=False)),
        _post("heavy", "inv^4 order 4", _d("tr(inv(X)*inv(X)*inv(X)*inv(X))", "X", 4,
                                           check=False)),
        _post("heavy", "order 3 of a big expression",
              _d("sum(log(1+exp(-y.*(X*w)))) + norm2(A*w - b)^2 + logdet(X'*X + w*w')", "w", 3)),
        # the derivation is quick, the numerical check runs for minutes: the server's limit
        _post("heavy", "inv^5 order 3 + check", _d(nest("inv", 5, "X"), "X", 3)),
        _post("heavy", "gaussian nll order 4 + check", _d("logdet(S) + tr(inv(S)*C)", "S", 4,
                                                          SYM)),
    ]


def make_requests(n: int, seed: int = 0, mix: dict[str, float] | None = None) -> list[Case]:
    """n requests, the classes in the proportions of `mix`, shuffled with `seed`."""
    mix = mix or MIX
    rng = random.Random(seed)
    valid = [_post("valid", f"{name} (check {chk})", {**p, "check": chk})
             for name, p in VALID for chk in (True, False)]
    valid += [_post("valid", name, p, "/api/variables") for name, p in VARIABLES]
    pools = {"valid": valid, "invalid": _invalid_cases(), "heavy": _heavy_cases()}
    counts = {c: int(round(n * f)) for c, f in mix.items()}
    counts["valid"] += n - sum(counts.values())
    out: list[Case] = []
    for cls, k in counts.items():
        pool = pools[cls]
        # every case once (as far as k allows), then random ones
        picks = list(pool[:k]) if k >= len(pool) else rng.sample(pool, k)
        picks += [rng.choice(pool) for _ in range(k - len(picks))]
        out += picks
    rng.shuffle(out)
    return out


# ------------------------------------------------------------------------------ the server
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_command(port: int, workers: int | None = None,
                   timeout: float | None = None) -> list[str]:
    """`matrixcalculus serve --port P` without --host: the default address is what is tested."""
    script = Path(sys.executable).with_name("matrixcalculus")
    cmd = ([str(script)] if script.exists() else
           [sys.executable, "-c", "import sys; from matrixcalculus.cli import main; "
            "sys.exit(main(sys.argv[1:]))"])
    cmd += ["serve", "--port", str(port)]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    if timeout is not None:
        cmd += ["--timeout", f"{timeout:g}"]
    return cmd


def _get_json(port: int, path: str, timeout: float = 5.0) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, json.loads(r.read() or b"null")
    finally:
        conn.close()


@contextmanager
def running_server(workers: int | None = None, timeout: float | None = None,
                   startup_s: float = 120.0) -> Iterator[tuple[subprocess.Popen, int]]:
    """The server on a free loopback port, stopped (with its workers) on exit."""
    port = free_port()
    log = open(os.devnull, "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(server_command(port, workers, timeout), stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        end = time.monotonic() + startup_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited with status {proc.returncode}")
            try:
                if _get_json(port, "/api/health", 2)[0] == 200:
                    break
            except (OSError, http.client.HTTPException, ValueError):
                pass
            if time.monotonic() > end:
                raise RuntimeError(f"the server did not answer within {startup_s:g} s")
            time.sleep(0.2)
        yield proc, port
    finally:
        proc.send_signal(signal.SIGINT)            # graceful: the app stops its workers
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)    # the group started here, nothing else
            proc.wait(timeout=5)
        log.close()


def listen_addresses(port: int) -> list[str]:
    """The local addresses listening on `port`, from /proc/net/tcp and tcp6."""
    out = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            addr, p = f[1].rsplit(":", 1)
            if int(p, 16) == port and f[3] == "0A":          # 0A: LISTEN
                if len(addr) == 8:
                    out.append(socket.inet_ntop(socket.AF_INET, bytes.fromhex(addr)[::-1]))
                else:
                    raw = b"".join(bytes.fromhex(addr[i:i + 8])[::-1] for i in range(0, 32, 8))
                    out.append(socket.inet_ntop(socket.AF_INET6, raw))
    return out


# ------------------------------------------------------------------------------ memory
def _status_kb(pid: int) -> dict[str, int]:
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    key, value = line.split(":", 1)
                    out[key] = int(value.split()[0])
    except OSError:
        pass
    return out


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = defaultdict(list)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z":
            children[int(fields[1])].append(int(entry))
    out, todo = [], [root]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


class MemorySampler(threading.Thread):
    """VmRSS of the server and of its descendants, every `interval` s; peaks and VmHWM."""

    def __init__(self, pid: int, interval: float = 0.2):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.stop_event = threading.Event()
        self.samples: list[tuple[float, int, int]] = []      # (t, server kB, children kB)
        self.hwm: dict[int, int] = {}                        # pid -> VmHWM kB
        self.children_seen: set[int] = set()

    def sample(self) -> tuple[int, int]:
        server = _status_kb(self.pid)
        kids = 0
        for c in descendants(self.pid):
            st = _status_kb(c)
            kids += st.get("VmRSS", 0)
            self.children_seen.add(c)
            self.hwm[c] = max(self.hwm.get(c, 0), st.get("VmHWM", 0))
        self.hwm[self.pid] = max(self.hwm.get(self.pid, 0), server.get("VmHWM", 0))
        rss = server.get("VmRSS", 0)
        self.samples.append((time.monotonic(), rss, kids))
        return rss, kids

    def run(self) -> None:
        while not self.stop_event.wait(self.interval):
            self.sample()

    def stop(self) -> None:
        self.stop_event.set()
        self.join()


# ------------------------------------------------------------------------------ the clients
@dataclass
class Result:
    case: Case
    status: int | None          # None: no response (connection error)
    latency: float              # seconds
    error: str | None           # the body's "error" field, or the exception
    message: str | None
    verdict: str = ""           # "ok" or why it is unexpected


def judge(r: Result) -> str:
    """'ok' when the answer is what the request's class may get; otherwise why not."""
    s, cls = r.status, r.case.cls
    if s is None:
        return f"no response ({r.error})"
    if s >= 500 and not (s == 503 and cls == "heavy" and r.error in TIMEOUT_ERRORS):
        return f"{s} {r.error}: {r.message}"
    if cls == "valid":
        return "ok" if s == 200 else f"{s} for a valid request: {r.error}: {r.message}"
    if 400 <= s < 500 and not (r.error and r.message):
        return f"{s} without an error message"
    if cls == "invalid":
        return "ok" if 400 <= s < 500 else f"{s} for an invalid request"
    return "ok"                 # heavy: 200, 4xx with a message, 503 timeout/busy


def _send(conn: http.client.HTTPConnection, case: Case) -> tuple[int, dict[str, Any], bool]:
    headers = {"Content-Type": case.content_type} if case.body is not None else {}
    conn.request(case.method, case.path, body=case.body, headers=headers)
    resp = conn.getresponse()
    raw = resp.read()
    close = (resp.getheader("connection") or "").lower() == "close"
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        body = {"error": None, "message": raw[:200].decode(errors="replace")}
    return resp.status, body if isinstance(body, dict) else {}, close


def run_clients(port: int, cases: list[Case], clients: int,
                request_timeout: float = 300.0) -> list[Result]:
    results: list[Result | None] = [None] * len(cases)
    lock = threading.Lock()
    next_index = [0]

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=request_timeout)
        try:
            while True:
                with lock:
                    i = next_index[0]
                    next_index[0] += 1
                if i >= len(cases):
                    return
                case = cases[i]
                t0 = time.perf_counter()
                try:
                    status, body, close = _send(conn, case)
                    r = Result(case, status, time.perf_counter() - t0,
                               body.get("error"), body.get("message"))
                except (OSError, http.client.HTTPException) as e:
                    r = Result(case, None, time.perf_counter() - t0, f"{type(e).__name__}: {e}",
                               None)
                    close = True
                r.verdict = judge(r)
                results[i] = r
                if close:
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port,
                                                      timeout=request_timeout)
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [r for r in results if r is not None]


# ------------------------------------------------------------------------------ the summary
def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return None
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(-(-q * len(v) // 100)) - 1))
    return v[k]


def latency_stats(values: list[float]) -> dict[str, float | None]:
    ms = [x * 1000 for x in values]
    return {"n": len(ms), "p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95),
            "p99_ms": percentile(ms, 99), "max_ms": max(ms) if ms else None}


def summarize(results: list[Result], wall_s: float) -> dict[str, Any]:
    by_class: dict[str, Counter] = defaultdict(Counter)
    for r in results:
        by_class[r.case.cls][str(r.status) + (f" {r.error}" if r.status == 503 else "")] += 1
    per_case: dict[str, dict[str, Any]] = {}
    for r in results:
        c = per_case.setdefault(r.case.name, {"class": r.case.cls, "n": 0,
                                              "statuses": Counter(), "latencies": []})
        c["n"] += 1
        c["statuses"][str(r.status)] += 1
        c["latencies"].append(r.latency)
    cases = {name: {"class": c["class"], "n": c["n"], "statuses": dict(c["statuses"]),
                    **latency_stats(c["latencies"])} for name, c in per_case.items()}
    unexpected = [{"class": r.case.cls, "case": r.case.name, "status": r.status,
                   "why": r.verdict} for r in results if r.verdict != "ok"]
    timeouts = sum(1 for r in results if r.status == 503 and r.error == "timeout")
    return {
        "requests": len(results),
        "wall_s": round(wall_s, 2),
        "throughput_rps": round(len(results) / wall_s, 1) if wall_s else None,
        "by_class": {k: dict(sorted(v.items())) for k, v in sorted(by_class.items())},
        "unexpected": len(unexpected),
        "unexpected_list": unexpected[:50],
        "timeouts_503": timeouts,
        "latency": {"all": latency_stats([r.latency for r in results]),
                    **{cls: latency_stats([r.latency for r in results if r.case.cls == cls])
                       for cls in sorted(by_class)}},
        "cases": dict(sorted(cases.items(), key=lambda kv: (kv[1]["class"], kv[0]))),
    }


def _mib(kb: int | float) -> float:
    return round(kb / 1024, 1)


def run_load(requests: int = 2000, clients: int = 8, seed: int = 0, workers: int | None = None,
             server_timeout: float | None = 4.0, mix: dict[str, float] | None = None,
             request_timeout: float = 300.0) -> dict[str, Any]:
    """Start a server, load it, and return the summary (see the module's docstring)."""
    cases = make_requests(requests, seed, mix)
    load_start = os.getloadavg()
    with running_server(workers, server_timeout) as (proc, port):
        bound = listen_addresses(port)
        health0 = _get_json(port, "/api/health")[1]
        # one valid request per worker first, so that the start figures are a warm server's
        warm = make_requests(1, seed, {"valid": 1.0})[0]
        run_clients(port, [warm] * 4, 2)
        sampler = MemorySampler(proc.pid)
        start_server_kb, start_children_kb = sampler.sample()
        workers_start = set(descendants(proc.pid))
        sampler.start()
        t0 = time.perf_counter()
        try:
            results = run_clients(port, cases, clients, request_timeout)
        finally:
            wall = time.perf_counter() - t0
            sampler.stop()
        # after the load: still alive, still answering
        after = run_clients(port, [_post("valid", "after the load", _d("x'*A*x", "x", 2))], 1)[0]
        health1 = _get_json(port, "/api/health")[1]
        end_server_kb, end_children_kb = sampler.sample()
        alive = proc.poll() is None
    summary = summarize(results, wall)
    samples = sampler.samples
    restarts = health1.get("restarts", 0) - health0.get("restarts", 0) \
        if "restarts" in health1 else None
    summary.update({
        "clients": clients, "seed": seed,
        "server": {"bound_to": bound, "workers": health0.get("workers"),
                   "timeout_s": health0.get("timeout_s"), "alive_after": alive,
                   "valid_request_after": after.status,
                   "worker_restarts": restarts,
                   "child_processes_seen": len(sampler.children_seen | workers_start)},
        "memory_mib": {
            "peak_total_rss": _mib(max((s + c for _, s, c in samples), default=0)),
            "peak_server_rss": _mib(max((s for _, s, _c in samples), default=0)),
            "peak_children_rss": _mib(max((c for _, _s, c in samples), default=0)),
            "server_hwm": _mib(sampler.hwm.get(proc.pid, 0)),
            "max_worker_hwm": _mib(max((v for p, v in sampler.hwm.items() if p != proc.pid),
                                       default=0)),
            "server_rss_start": _mib(start_server_kb), "server_rss_end": _mib(end_server_kb),
            "children_rss_start": _mib(start_children_kb),
            "children_rss_end": _mib(end_children_kb),
            "samples": len(samples),
        },
        "loadavg_start": [round(x, 2) for x in load_start],
        "loadavg_end": [round(x, 2) for x in os.getloadavg()],
    })
    problems = []
    if bound and any(a not in ("127.0.0.1",) for a in bound):
        problems.append(f"the server listens on {bound}, not only 127.0.0.1")
    if not alive:
        problems.append("the server process died")
    if after.status != 200:
        problems.append(f"a valid request after the load got {after.status}")
    if restarts is not None and restarts > summary["timeouts_503"]:
        problems.append(f"{restarts} worker restarts for {summary['timeouts_503']} "
                        "timeouts: a worker died")
    summary["problems"] = problems
    summary["ok"] = summary["unexpected"] == 0 and not problems
    return summary


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.0f}" if x >= 100 else f"{x:.1f}"


def report(s: dict[str, Any]) -> str:
    lines = [f"{s['requests']} requests from {s['clients']} clients in {s['wall_s']} s "
             f"({s['throughput_rps']} req/s); server: {s['server']['workers']} workers, "
             f"time limit {s['server']['timeout_s']} s, listening on "
             f"{', '.join(s['server']['bound_to']) or '?'}"]
    for cls, counts in s["by_class"].items():
        lines.append(f"  {cls:8} " + ", ".join(f"{k}: {v}" for k, v in counts.items()))
    lines.append(f"unexpected: {s['unexpected']}")
    for u in s["unexpected_list"][:20]:
        lines.append(f"  [{u['class']}] {u['case']}: {u['why']}")
    lines.append("latency (ms)       n     p50     p95     p99     max")
    for cls, st in s["latency"].items():
        lines.append(f"  {cls:10} {st['n']:7} {_fmt(st['p50_ms']):>7} {_fmt(st['p95_ms']):>7} "
                     f"{_fmt(st['p99_ms']):>7} {_fmt(st['max_ms']):>7}")
    m, srv = s["memory_mib"], s["server"]
    lines.append(f"memory (MiB): peak total RSS {m['peak_total_rss']} (server "
                 f"{m['peak_server_rss']}, workers {m['peak_children_rss']}); high-water marks: "
                 f"server {m['server_hwm']}, largest worker {m['max_worker_hwm']}")
    lines.append(f"  server RSS {m['server_rss_start']} -> {m['server_rss_end']}, workers "
                 f"{m['children_rss_start']} -> {m['children_rss_end']} ({m['samples']} samples)")
    lines.append(f"workers: {srv['worker_restarts']} restarts for {s['timeouts_503']} "
                 f"timeouts, {srv['child_processes_seen']} child processes seen; a valid "
                 f"request after the load: {srv['valid_request_after']}")
    lines.append(f"load average {s['loadavg_start']} -> {s['loadavg_end']}")
    for p in s["problems"]:
        lines.append(f"PROBLEM: {p}")
    lines.append("OK" if s["ok"] else "FAILED")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-n", "--requests", type=int, default=2000)
    p.add_argument("-c", "--clients", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=None,
                   help="the server's derivation processes (default: the server's, 2)")
    p.add_argument("--server-timeout", type=float, default=4.0,
                   help="the server's --timeout, seconds one derivation may run (default 4)")
    p.add_argument("--json", metavar="PATH", help="write the summary as JSON ('-': stdout)")
    p.add_argument("--cases", action="store_true", help="also print the per-case table")
    args = p.parse_args(argv)
    s = run_load(args.requests, args.clients, args.seed, args.workers, args.server_timeout)
    if args.json == "-":
        print(json.dumps(s, indent=2))
    else:
        print(report(s))
        if args.cases:
            print("\ncase                                         class     n  statuses"
                  "                 p50     max")
            for name, c in s["cases"].items():
                st = ", ".join(f"{k}x{v}" for k, v in sorted(c["statuses"].items()))
                print(f"  {name[:42]:42} {c['class']:8} {c['n']:4}  {st:22} "
                      f"{_fmt(c['p50_ms']):>6} {_fmt(c['max_ms']):>7}")
        if args.json:
            Path(args.json).write_text(json.dumps(s, indent=2) + "\n")
    return 0 if s["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
