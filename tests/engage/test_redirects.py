"""`next` after sign-in: same-origin paths only, on the server and in the browser's script alike."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from engage.http.pages import safe_next
from tests.conftest import ROOT

KEPT = ["/", "/orders", "/products/lamp?variant=2#reviews", "/search?q=caf%C3%A9", "/a/%252F%252Fb"]
REFUSED = [
    "//evil.example",
    "/\\evil.example",
    "/\\\\evil.example",
    "\\\\evil.example",
    "https://evil.example",
    "https:evil.example",
    "javascript:alert(1)",
    "evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\x00/evil.example",
    " //evil.example",
    "/%2F/evil.example",
    "/%5Cevil.example",
    "%2F%2Fevil.example",
    "/%09/evil.example",
    "/\u3000/evil.example",
    "/x" * 2000,
    "",
]


@pytest.mark.parametrize("target", KEPT)
def test_paths_on_this_site_are_kept(target: str) -> None:
    assert safe_next(target) == target


@pytest.mark.parametrize("target", REFUSED)
def test_other_origins_and_their_disguises_are_refused(target: str) -> None:
    assert safe_next(target) == "/"


async def test_the_login_page_never_carries_an_off_site_next(client) -> None:
    for target, expected in [("/\\evil.example", "/"), ("//evil.example", "/"), ("/orders", "/orders")]:
        res = await client.get("/login", params={"next": target})
        assert res.status_code == 200
        assert f'data-next="{expected}"' in res.text, (target, res.text)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_browser_script_applies_the_same_rule() -> None:
    source = (ROOT / "web" / "static" / "js" / "login.js").read_text()
    source = "\n".join(line for line in source.splitlines() if not line.startswith("import "))
    script = (
        'globalThis.window = {location: {origin: "http://shop.test"}};\n'
        "globalThis.document = {getElementById: () => null};\n"
        "const api = null;\n"
        f"{source}\n"
        f"const targets = {json.dumps(KEPT + REFUSED)};\n"
        "console.log(JSON.stringify(targets.map((t) => safeNext(t))));\n"
    )
    out = subprocess.run(
        ["node", "--input-type=module", "-e", script], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    assert json.loads(out) == KEPT + ["/"] * len(REFUSED)
