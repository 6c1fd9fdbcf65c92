"""``/docs`` and ``/redoc`` of every service load nothing from another host."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from openapi_spec_validator import validate

from backoffice_common.app import ServiceSpec, create_service_app
from backoffice_common.db import new_metadata
from backoffice_common.messaging import messaging_tables
from backoffice_common.settings import ServiceSettings

ASSET_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


def app():  # type: ignore[no-untyped-def]
    spec = ServiceSpec(name="docs", title="Docs", description="d", version="0", tables=messaging_tables(new_metadata()))
    return create_service_app(spec, ServiceSettings())


def referenced_urls(html: str) -> list[str]:
    attributes = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    in_script = re.findall(r"""(?:url|oauth2RedirectUrl|spec-url)\s*[:=]\s*["']([^"']+)["']""", html)
    return attributes + in_script


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_documentation_pages_load_only_same_origin_assets_and_each_is_served(page: str) -> None:
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://svc.test") as client:
        r = await client.get(page)
        assert r.status_code == 200
        html = r.text
        assert "cdn.jsdelivr" not in html
        assert "fonts.googleapis" not in html
        urls = referenced_urls(html)
        assert any(u.endswith(".js") for u in urls), urls
        for url in urls:
            absolute = urljoin(f"http://svc.test{page}", url)
            assert urlsplit(absolute).netloc == "svc.test", f"{page} loads {url} from another host"
            asset = await client.get(absolute)
            assert asset.status_code == 200, f"{url}: {asset.status_code}"
            for suffix, content_type in ASSET_TYPES.items():
                if urlsplit(absolute).path.endswith(suffix):
                    assert content_type in asset.headers["content-type"]
                    assert len(asset.content) > 500
    if page == "/docs":
        assert '"validatorUrl": null' in html
        assert "SwaggerUIBundle" in html


async def test_the_swagger_ui_bundle_reads_openapi_3_1_documents() -> None:
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://svc.test") as client:
        document = (await client.get("/openapi.json")).json()
        bundle = (await client.get("/docs/assets/swagger-ui-bundle.js")).text
    assert document["openapi"].startswith("3.1")
    validate(document)
    # Swagger UI 4 refuses 3.1 documents ("does not specify a valid version field"); 5 reads them.
    assert re.search(r'"5\.\d+\.\d+"', bundle)
