"""The router's HTTP API on its port: the shared pool (公海) for sales systems and `leadflow pool list`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Query

from services.router import store
from services.router.settings import RouterSettings
from shared.config.durations import parse_duration
from shared.runtime.service import ServiceContext

PATHS = ("/v1/pool", "/openapi.json", "/docs")


def _seconds(value: str | None, name: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        return parse_duration(value).total_seconds()
    except ValueError as exc:
        raise HTTPException(422, f"{name}: {exc}") from exc


def create_api(ctx: ServiceContext, settings: RouterSettings) -> FastAPI:
    api = FastAPI(title="leadflow router", version="1", summary="The shared lead pool (公海)", redoc_url=None)

    @api.get("/v1/pool")
    async def list_pool(  # noqa: PLR0913, PLR0917 -- the listing's filters (query parameters)
        region: Annotated[str | None, Query(description="sales region, province or city")] = None,
        grade: Annotated[str | None, Query(description="one grade or several: A,B")] = None,
        product: Annotated[str | None, Query(description="a product the lead is interested in")] = None,
        min_age: Annotated[str | None, Query(description="pooled at least this long ago: 30m, 2h, 3d")] = None,
        max_age: Annotated[str | None, Query(description="pooled at most this long ago")] = None,
        limit: Annotated[int, Query(ge=1)] = 100,
    ) -> dict[str, Any]:
        """Pooled leads, oldest first; reps claim them with `pool.commands.v1`."""
        if ctx.engine is None:
            raise HTTPException(503, "the router is starting")
        async with ctx.engine.connect() as conn:
            rows = await store.pool_listing(
                conn,
                now=ctx.clock.now(),
                region=region,
                grade=grade,
                product=product,
                min_age_s=_seconds(min_age, "min_age"),
                max_age_s=_seconds(max_age, "max_age"),
                limit=min(limit, settings.pool_list_limit),
            )
        return {"count": len(rows), "leads": rows}

    return api
