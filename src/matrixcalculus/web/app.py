"""The web page and its JSON API.

    matrixcalculus serve [--port 8000] [--host 127.0.0.1]
    uvicorn --factory matrixcalculus.web.app:create_app

GET /                  the page (static/index.html; KaTeX is served from static/katex)
POST /api/derivative   {expr, wrt, vars, order, check} -> {text, latex, shape, steps, code, check}
POST /api/variables    {expr, vars} -> {variables: [{name, kind, shape, declaration}], shape}
GET /api/health        {ok, version, workers, timeout_s, queue_timeout_s, restarts, ...}

Errors are JSON: {error, message, pos, end, caret, source, in}; 400 for a rejected
expression (also when the engine stops itself at ENGINE_SHARE of the time limit), 404/405 for
an unknown path or method, 413 for input over the limits, 422 for a malformed request, 503
when a derivation ran past the time limit (its worker is killed and replaced) or no worker was
free within the queue timeout.  /api/health also reports the number of worker restarts.

Every derivation runs in a worker process with a time limit, so one pathological expression
cannot block the event loop or hold a worker for other requests; each worker is a pool of its
own, so killing one that ran past the limit leaves the others' jobs alone.
"""

from __future__ import annotations

import asyncio
import html
import multiprocessing
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, Future, ProcessPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__, ops
from ..limits import LIMITS
from . import jobs

STATIC = Path(__file__).resolve().parent / "static"

DEFAULT_WORKERS = 2
DEFAULT_TIMEOUT = 10.0           # seconds one derivation may run
STARTUP_TIMEOUT = 120.0          # seconds new workers may take to start (imports, warm-up)
RESTART_ALLOWANCE = 10.0         # seconds a killed worker's replacement may take to start
ENGINE_SHARE = 0.8               # the engine's own (cooperative) limit, as a share of timeout
MAX_BODY_BYTES = 256 * 1024      # a request body (the expression is limited separately)
MAX_VARS = 100                   # declarations in one request
MAX_DECL_LENGTH = 200            # characters of one declaration or name

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "font-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")


class DerivativeRequest(BaseModel):
    expr: str
    wrt: str | list[str] | None = None       # "U, V" or ["U", "V"]: a mixed derivative
    vars: dict[str, str] = Field(default_factory=dict)
    order: int | None = None                 # 1, or the length of a wrt list
    check: bool = True


class VariablesRequest(BaseModel):
    expr: str
    vars: dict[str, str] = Field(default_factory=dict)


class Unavailable(Exception):
    """No answer in time: the derivation ran too long, or no worker came free."""

    def __init__(self, error: str, message: str):
        super().__init__(message)
        self.error = error
        self.message = message


def _error(status: int, error: str, message: str, **headers: str) -> JSONResponse:
    body = {"error": error, "message": message, "pos": None, "end": None, "caret": "",
            "source": None, "in": "request"}
    return JSONResponse(body, status_code=status, headers=headers or None)


class _Slot:
    """One worker process in a pool of its own, so that it can be killed and replaced alone."""

    def __init__(self, warm: bool):
        self.pool = ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("spawn"),
            initializer=jobs.warm_up if warm else None)
        # start the worker now, not on first use; a job's time limit starts once it is up,
        # so that a slow start (imports, warm-up) never counts against a derivation
        self.ready: Future = self.pool.submit(jobs.ping)

    def pids(self) -> list[int]:
        return list((getattr(self.pool, "_processes", None) or {}).keys())

    def kill(self) -> None:
        processes = list((getattr(self.pool, "_processes", None) or {}).values())
        for p in processes:
            if p.is_alive():
                p.kill()
        self.pool.shutdown(wait=False, cancel_futures=True)
        for p in processes:
            p.join(timeout=5)


class Engine:
    """`workers` worker processes with a per-job time limit.  Each worker is a pool of its
    own: a job past the limit kills its worker only, which is replaced, and the jobs on the
    other workers carry on.  A job whose worker died under it is retried once."""

    def __init__(self, workers: int = DEFAULT_WORKERS, timeout: float = DEFAULT_TIMEOUT,
                 queue_timeout: float | None = None, warm: bool = True):
        self.workers = workers
        self.timeout = timeout
        self._queue_timeout = queue_timeout
        self.warm = warm
        self.restarts = 0
        self.startup_timeout = STARTUP_TIMEOUT
        self._slots: list[_Slot] | None = None
        self._idle: list[_Slot] = []
        self._free: asyncio.Semaphore | None = None

    @property
    def queue_timeout(self) -> float:
        """Seconds a job may wait for a free worker: by default twice the time limit plus
        RESTART_ALLOWANCE, so that a job queued behind ones that run into the limit (and
        their workers' restarts) is not turned away."""
        if self._queue_timeout is not None:
            return self._queue_timeout
        return 2 * self.timeout + RESTART_ALLOWANCE

    def start(self) -> None:
        if self._slots is None:
            self._slots = [_Slot(self.warm) for _ in range(self.workers)]
            self._idle = list(self._slots)

    def close(self) -> None:
        slots, self._slots, self._idle = self._slots, None, []
        for slot in slots or ():
            slot.kill()

    def _replace(self, slot: _Slot) -> _Slot:
        """Kill `slot`'s worker and start a new one in its place (none once closed)."""
        slot.kill()
        if self._slots is None or slot not in self._slots:
            raise Unavailable("worker lost", "the server is shutting down")
        self.restarts += 1
        new = _Slot(self.warm)
        self._slots[self._slots.index(slot)] = new
        return new

    def pids(self) -> list[int]:
        return [pid for slot in self._slots or () for pid in slot.pids()]

    def _take(self) -> _Slot:
        """An idle worker, one that is up if there is one."""
        for i, slot in enumerate(self._idle):
            if slot.ready.done():
                return self._idle.pop(i)
        return self._idle.pop(0)

    async def run(self, fn: Callable[[Any], dict[str, Any]], payload: Any) -> dict[str, Any]:
        if self._free is None:
            self._free = asyncio.Semaphore(self.workers)
        try:
            await asyncio.wait_for(self._free.acquire(), self.queue_timeout)
        except TimeoutError:
            raise Unavailable("busy", "the server is busy with other derivations; try again "
                              "in a moment") from None
        self.start()
        slot = self._take()
        try:
            for attempt in range(2):
                # asyncio.wait neither raises nor cancels what it waits for
                done, _ = await asyncio.wait([asyncio.wrap_future(slot.ready)],
                                             timeout=self.startup_timeout)
                if not done:
                    slot = self._replace(slot)
                    raise Unavailable("starting", "the derivation worker did not start in "
                                      f"{self.startup_timeout:g} s; try again")
                if slot.ready.cancelled() or slot.ready.exception() is not None:
                    slot = self._replace(slot)        # the worker died while starting
                    continue
                try:
                    fut = slot.pool.submit(fn, payload)
                    return await asyncio.wait_for(asyncio.wrap_future(fut), self.timeout)
                except TimeoutError:
                    slot = self._replace(slot)
                    raise Unavailable(
                        "timeout", f"the derivation took longer than {self.timeout:g} s and "
                        "was stopped; try a smaller expression or a lower order") from None
                except (BrokenExecutor, RuntimeError):
                    # the worker died (out of memory, killed from outside)
                    slot = self._replace(slot)
                    if attempt:
                        raise Unavailable("worker lost", "the derivation's worker process "
                                          "died; try again") from None
            raise Unavailable("worker lost", "the derivation worker could not be started")
        finally:
            if self._slots is not None and slot in self._slots:
                self._idle.append(slot)
            self._free.release()


def _too_large(expr: str, vars: dict[str, str]) -> JSONResponse | None:
    if len(expr) > LIMITS.max_input_length:
        return _error(413, "limit exceeded", f"the expression has {len(expr)} characters; the "
                      f"limit is {LIMITS.max_input_length}")
    if len(vars) > MAX_VARS:
        return _error(413, "limit exceeded", f"{len(vars)} declarations; the limit is "
                      f"{MAX_VARS}")
    for name, decl in vars.items():
        if len(name) > MAX_DECL_LENGTH or len(decl) > MAX_DECL_LENGTH:
            return _error(413, "limit exceeded", f"a declaration is longer than "
                          f"{MAX_DECL_LENGTH} characters")
    return None


def create_app(workers: int = DEFAULT_WORKERS, timeout: float = DEFAULT_TIMEOUT,
               queue_timeout: float | None = None, warm: bool = True) -> FastAPI:
    """The ASGI app.  workers: derivation processes; timeout: seconds one derivation may take;
    queue_timeout: seconds a request may wait for a free worker (default: 2 x timeout + 10)."""
    engine = Engine(workers, timeout, queue_timeout, warm)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        engine.start()
        try:
            yield
        finally:
            engine.close()

    app = FastAPI(title="matrixcalculus", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None)   # the docs pages would load from a CDN
    app.state.engine = engine

    @app.middleware("http")
    async def limits_and_headers(request: Request, call_next):
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            return _error(413, "limit exceeded",
                          f"the request body is larger than {MAX_BODY_BYTES} bytes")
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException):
        # unknown paths, wrong methods: the same JSON error body as every other error
        return _error(exc.status_code, "bad request", str(exc.detail),
                      **(getattr(exc, "headers", None) or {}))

    @app.exception_handler(RequestValidationError)
    async def bad_request(_request: Request, exc: RequestValidationError):
        parts = []
        for err in exc.errors()[:5]:
            where = ".".join(str(x) for x in err.get("loc", ()) if x != "body")
            parts.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
        return _error(422, "bad request", "; ".join(parts) or "malformed request")

    async def answer(fn, payload: dict[str, Any]) -> JSONResponse:
        # the engine stops by itself (400 "limit exceeded") a little before the hard limit,
        # which kills the worker: most long derivations then cost no worker restart
        payload["time_limit"] = engine.timeout * ENGINE_SHARE if engine.timeout > 0 else None
        try:
            out = await engine.run(fn, payload)
        except Unavailable as e:
            return _error(503, e.error, e.message, **{"Retry-After": "1"})
        return JSONResponse(out["body"], status_code=out["status"])

    @app.post("/api/derivative")
    async def api_derivative(req: DerivativeRequest) -> JSONResponse:
        return _too_large(req.expr, req.vars) or await answer(jobs.derive, req.model_dump())

    @app.post("/api/variables")
    async def api_variables(req: VariablesRequest) -> JSONResponse:
        return _too_large(req.expr, req.vars) or await answer(jobs.variables, req.model_dump())

    @app.get("/api/health")
    async def health() -> dict[str, Any]:
        return {"ok": True, "version": __version__, "workers": engine.workers,
                "timeout_s": engine.timeout, "queue_timeout_s": engine.queue_timeout,
                "restarts": engine.restarts, "max_input_length": LIMITS.max_input_length}

    # the page lists the language's functions from the rows of ops/ (never a list of its own)
    page = (STATIC / "index.html").read_text(encoding="utf-8").replace(
        "<!--functions-->", html.escape(" ".join(r.name for r in ops.rows())))

    @app.get("/", include_in_schema=False)
    async def index() -> HTMLResponse:
        return HTMLResponse(page)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = DEFAULT_WORKERS,
          timeout: float = DEFAULT_TIMEOUT) -> None:
    """Run the page with uvicorn until interrupted."""
    import uvicorn
    uvicorn.run(create_app(workers=workers, timeout=timeout), host=host, port=port,
                log_level="info", timeout_graceful_shutdown=5)
