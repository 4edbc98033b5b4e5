"""The web page and its JSON API.

    matrixcalculus serve [--port 8000] [--host 127.0.0.1]
    uvicorn --factory matrixcalculus.web.app:create_app

GET /                  the page (static/index.html; KaTeX is served from static/katex)
POST /api/derivative   {expr, wrt, vars, order, check} -> {text, latex, shape, steps, code, check}
POST /api/variables    {expr, vars} -> {variables: [{name, kind, shape, declaration}], shape}
GET /api/health        {ok, version, workers, timeout_s}

Errors are JSON: {error, message, pos, end, caret, source, in}; 400 for a rejected
expression, 413 for input over the limits, 422 for a malformed request, 503 when a
derivation ran past the time limit (its worker is killed and replaced) or no worker was free.

Every derivation runs in a pool of worker processes with a time limit, so one pathological
expression cannot block the event loop or hold a worker for other requests.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, Future, ProcessPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from .. import __version__
from ..limits import LIMITS
from . import jobs

STATIC = Path(__file__).resolve().parent / "static"

DEFAULT_WORKERS = 2
DEFAULT_TIMEOUT = 10.0           # seconds one derivation may run
STARTUP_TIMEOUT = 120.0          # seconds new workers may take to start (imports, warm-up)
MAX_BODY_BYTES = 256 * 1024      # a request body (the expression is limited separately)
MAX_VARS = 100                   # declarations in one request
MAX_DECL_LENGTH = 200            # characters of one declaration or name

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "font-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")


class DerivativeRequest(BaseModel):
    expr: str
    wrt: str | None = None
    vars: dict[str, str] = Field(default_factory=dict)
    order: int = 1
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


class Engine:
    """A process pool with a per-job time limit; a job past the limit kills the pool's
    workers and the pool is replaced (jobs that shared it are retried once)."""

    def __init__(self, workers: int = DEFAULT_WORKERS, timeout: float = DEFAULT_TIMEOUT,
                 queue_timeout: float | None = None, warm: bool = True):
        self.workers = workers
        self.timeout = timeout
        self.queue_timeout = timeout if queue_timeout is None else queue_timeout
        self.warm = warm
        self.restarts = 0
        self.startup_timeout = STARTUP_TIMEOUT
        self._pool: ProcessPoolExecutor | None = None
        self._ready: list[Future] = []
        self._free: asyncio.Semaphore | None = None

    def _new_pool(self) -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(
            max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=jobs.warm_up if self.warm else None)
        # start every worker now, not on first use; a job's time limit starts once they are
        # up, so that a slow start (imports, warm-up) never counts against a derivation
        self._ready = [pool.submit(jobs.ping) for _ in range(self.workers)]
        return pool

    def start(self) -> None:
        if self._pool is None:
            self._pool = self._new_pool()

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            self._kill(pool)

    @staticmethod
    def _kill(pool: ProcessPoolExecutor) -> None:
        processes = list((getattr(pool, "_processes", None) or {}).values())
        for p in processes:
            if p.is_alive():
                p.kill()
        pool.shutdown(wait=False, cancel_futures=True)
        for p in processes:
            p.join(timeout=5)

    def _restart(self, pool: ProcessPoolExecutor) -> None:
        if pool is self._pool:
            self.restarts += 1
            self._pool = self._new_pool()
            self._kill(pool)

    def pids(self) -> list[int]:
        return list((getattr(self._pool, "_processes", None) or {}).keys())

    async def run(self, fn: Callable[[Any], dict[str, Any]], payload: Any) -> dict[str, Any]:
        if self._free is None:
            self._free = asyncio.Semaphore(self.workers)
        try:
            await asyncio.wait_for(self._free.acquire(), self.queue_timeout)
        except TimeoutError:
            raise Unavailable("busy", "the server is busy with other derivations; try again "
                              "in a moment") from None
        try:
            for attempt in range(2):
                self.start()
                pool = self._pool
                assert pool is not None
                # asyncio.wait neither raises nor cancels what it waits for
                done, pending = await asyncio.wait(
                    [asyncio.wrap_future(f) for f in self._ready], timeout=self.startup_timeout)
                if pool is not self._pool:            # replaced meanwhile: use the new one
                    continue
                if pending:
                    self._restart(pool)
                    raise Unavailable("starting", "the derivation workers did not start in "
                                      f"{self.startup_timeout:g} s; try again")
                if any(f.cancelled() or f.exception() is not None for f in done):
                    self._restart(pool)               # a worker died while starting
                    continue
                try:
                    fut = pool.submit(fn, payload)
                    return await asyncio.wait_for(asyncio.wrap_future(fut), self.timeout)
                except TimeoutError:
                    self._restart(pool)
                    raise Unavailable(
                        "timeout", f"the derivation took longer than {self.timeout:g} s and "
                        "was stopped; try a smaller expression or a lower order") from None
                except (BrokenExecutor, RuntimeError):
                    # a worker died (killed with a stuck neighbour, or out of memory)
                    self._restart(pool)
                    if attempt:
                        raise Unavailable("worker lost", "the derivation's worker process "
                                          "died; try again") from None
            raise Unavailable("worker lost", "the derivation workers could not be started")
        finally:
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
    queue_timeout: seconds a request may wait for a free worker (default: timeout)."""
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

    @app.exception_handler(RequestValidationError)
    async def bad_request(_request: Request, exc: RequestValidationError):
        parts = []
        for err in exc.errors()[:5]:
            where = ".".join(str(x) for x in err.get("loc", ()) if x != "body")
            parts.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
        return _error(422, "bad request", "; ".join(parts) or "malformed request")

    async def answer(fn, payload: dict[str, Any]) -> JSONResponse:
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
                "timeout_s": engine.timeout, "max_input_length": LIMITS.max_input_length}

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = DEFAULT_WORKERS,
          timeout: float = DEFAULT_TIMEOUT) -> None:
    """Run the page with uvicorn until interrupted."""
    import uvicorn
    uvicorn.run(create_app(workers=workers, timeout=timeout), host=host, port=port,
                log_level="info", timeout_graceful_shutdown=5)
