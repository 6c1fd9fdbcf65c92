"""The bare endpoint of `backoffice bench`'s floor: FastAPI + an asyncpg pool reading one row, nothing else.

``python -m backoffice_cli.bare --port P --dsn postgresql://...`` serves ``GET /rows/{id}`` from the
benchmark's own table, with the same uvicorn defaults as the services (``backoffice_common.cli``).
It is what a read of the platform is compared with: one HTTP request, one query, a JSON answer.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import uvicorn
from fastapi import FastAPI, HTTPException


def make_app(dsn: str) -> FastAPI:
    pool: asyncpg.Pool[Any] | None = None

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        nonlocal pool
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=4)
        try:
            yield
        finally:
            await pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/rows/{row_id}")
    async def read(row_id: int) -> dict[str, Any]:
        assert pool is not None
        row = await pool.fetchrow("SELECT id, body FROM bench_floor WHERE id = $1", row_id)
        if row is None:
            raise HTTPException(404)
        return {"id": row["id"], "body": row["body"]}

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dsn", required=True)
    args = parser.parse_args()
    uvicorn.run(make_app(args.dsn), host="127.0.0.1", port=args.port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()
