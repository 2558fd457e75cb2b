"""Canary: one public port in front of two scoring servers, the production version and a
candidate; a fraction of ``POST /score`` goes to the candidate.

Each version runs in its own package server (its own interpreter and imports: two versions of
one notebook have the same package name), both log to the production version's request log,
and every answer names the version that gave it (``model_version`` and ``X-Model-Version``),
so ``monitor`` can compare the two versions' predictions.
"""

from __future__ import annotations

import random
from contextlib import ExitStack, asynccontextmanager
from pathlib import Path
from typing import Callable, Optional

from ..errors import ConfigError, MissingDependency
from .serving import HOST, ServeOptions, Target, default_log, ensure_model, running_server

#: Headers of a backend's answer that the router passes on.
_PASSED = ("content-type", "x-model-version")


def _starlette():
    try:
        # pylint: disable=import-outside-toplevel
        import httpx
        import uvicorn
        from starlette.applications import Starlette
    except ImportError as exc:
        raise MissingDependency(f"canary serving needs {exc.name}: pip install "
                                "jupyter-mlops[serve]") from None
    return httpx, uvicorn, Starlette


def router_app(production: str, candidate: str, fraction: float,
               chance: Callable[[], float] = random.random):
    """An ASGI app sending ``fraction`` of ``POST /score`` to ``candidate``, all else to
    ``production`` (both base URLs)."""
    httpx, _, starlette_app = _starlette()
    # pylint: disable=import-outside-toplevel
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    client = httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=512))

    async def forward(request: Request) -> Response:
        scoring = request.url.path == "/score" and request.method == "POST"
        base = candidate if scoring and chance() < fraction else production
        try:
            answer = await client.request(request.method, base + request.url.path,
                                          content=await request.body(),
                                          headers={"content-type": request.headers.get(
                                              "content-type", "application/json")})
        except httpx.HTTPError as exc:
            return JSONResponse({"error": f"the scoring server at {base} did not answer: "
                                          f"{type(exc).__name__}"}, status_code=502)
        return Response(answer.content, status_code=answer.status_code,
                        headers={k: v for k, v in answer.headers.items() if k in _PASSED})

    @asynccontextmanager
    async def lifespan(_):
        yield
        await client.aclose()

    methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
    return starlette_app(routes=[Route("/{path:path}", forward, methods=methods)],
                         lifespan=lifespan)


def check_fraction(fraction: float) -> float:
    """ConfigError unless 0 < fraction < 1."""
    if not 0 < fraction < 1:
        raise ConfigError(f"--canary-fraction {fraction}: give a fraction between 0 and 1, "
                          "like 0.1 for one request in ten")
    return fraction


def serve_canary(production: Target, candidate: Target, fraction: float, port: int,
                 scratch: Path, *, options: Optional[ServeOptions] = None,
                 python: Optional[str] = None,
                 progress: Callable[[str], None] = lambda _: None) -> None:
    """Serve both versions behind one port until SIGTERM or Ctrl-C."""
    _, uvicorn, _ = _starlette()
    check_fraction(fraction)
    options = options or ServeOptions()
    with ExitStack() as stack:
        urls = []
        for number, target in enumerate((production, candidate)):
            model_dir = ensure_model(target, scratch / str(number), python, progress)
            log = options.log
            if log is None:  # both write where production's requests go
                log = str(default_log(production, production.model_dir or model_dir))
            urls.append(stack.enter_context(running_server(
                target, model_dir, python, options=ServeOptions(options.workers,
                                                                options.max_bytes, log))))
        app = router_app(urls[0], urls[1], fraction)
        progress(f"serving {production.label} on http://{HOST}:{port} with {fraction:.0%} "
                 f"of POST /score going to {candidate.label}; Ctrl-C stops")
        config = uvicorn.Config(app, host=HOST, port=port, log_level="warning",
                                access_log=False, backlog=2048)
        uvicorn.Server(config).run()
