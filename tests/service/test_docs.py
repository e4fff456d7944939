"""/docs and /redoc work on an air-gapped network: every asset they reference is served locally."""

from __future__ import annotations

import re

from tests.service.conftest import Live

_REFS = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url:\s*["']([^"']+)["']""")


def test_docs_and_redoc_reference_only_local_assets_that_are_served(live: Live) -> None:
    with live.client() as c:
        for page in ("/docs", "/redoc"):
            r = c.get(page)
            assert r.status_code == 200 and "text/html" in r.headers["content-type"]
            refs = [a or b for a, b in _REFS.findall(r.text)]
            assert any(ref.endswith(".js") for ref in refs), (page, refs)
            assert "cdn" not in r.text.lower() and "fonts.googleapis" not in r.text, page
            for ref in refs:
                assert ref.startswith("/") and not ref.startswith("//"), (page, ref)  # same origin
                asset = c.get(ref)
                assert asset.status_code == 200 and asset.content, (page, ref)
        assert c.get("/openapi.json").json()["info"]["title"].startswith("Shuwei")
