"""Properties of ``upgrade --to TAG``: any TAG string and any registry answer end in exit 0, 1 or
2 with one message, never exit 70 or a traceback, and no file is written without --write."""

from __future__ import annotations

import http.server
import json
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pocketid_k8s import cli

ROOT = Path(__file__).resolve().parents[1]


class Answer:
    """What the registry double answers to every request (replaced per example)."""

    status: int = 200
    content_type: str = "application/json"
    body: bytes = b"{}"


@pytest.fixture(scope="module")
def registry_double() -> Iterator[str]:
    """TEST DOUBLE of a registry on loopback: every request gets the example's answer."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def do_GET(self) -> None:
            self.send_response(Answer.status)
            self.send_header("Content-Type", Answer.content_type)
            self.send_header("Content-Length", str(len(Answer.body)))
            self.end_headers()
            self.wfile.write(Answer.body)

        do_HEAD = do_GET

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def site(registry_double: str) -> Iterator[Path]:
    """A site config whose image is in the registry double, in a folder of its own."""
    folder = Path(tempfile.mkdtemp(prefix="fuzz-upgrade-"))
    (folder / "pocket-id.toml").write_text(
        (ROOT / "pocket-id.toml")
        .read_text()
        .replace(
            "ghcr.io/pocket-id/pocket-id:v2.2.0", f"{registry_double}/pocket-id/pocket-id:v2.2.0"
        )
    )
    yield folder / "pocket-id.toml"
    shutil.rmtree(folder, ignore_errors=True)


tags = st.text(max_size=40) | st.sampled_from(["v2.8.0", "v2.14.0", "latest", "v9", "v2.2.0"])
answers = st.tuples(
    st.sampled_from([200, 201, 301, 401, 403, 404, 429, 500]),
    st.sampled_from(
        [
            "application/json",
            "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.oci.image.index.v1+json",
            "text/html",
        ]
    ),
    st.binary(max_size=64)
    | st.sampled_from(
        [
            b"{}",
            b"[]",
            json.dumps({"schemaVersion": 2, "layers": [], "config": {}}).encode(),
            json.dumps({"manifests": [{"digest": "sha256:" + "0" * 64}]}).encode(),
        ]
    ),
)


@given(tag=tags, answer=answers)
@example(tag="v2/8", answer=(200, "application/json", b"{}"))
@example(tag="-v2", answer=(200, "application/json", b"{}"))
@example(tag="v2.2.0", answer=(200, "application/json", b"{}"))
@example(tag="latest", answer=(200, "application/json", b""))  # once exit 70: unvalidated config
@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_fuzz_any_tag_and_registry_answer_exit_0_1_or_2(
    site: Path,
    tag: str,
    answer: tuple[int, str, bytes],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Any TAG, any registry answer: exit 0, 1 or 2, no traceback, the site folder unchanged."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(site.parent / "cache"))
    monkeypatch.setenv("DOCKER_CONFIG", str(site.parent / "docker"))
    monkeypatch.chdir(site.parent)
    Answer.status, Answer.content_type, Answer.body = answer
    before = sorted(p.name for p in site.parent.iterdir())
    code = cli.main(["upgrade", f"--to={tag}", "--config", str(site)])
    captured = capsys.readouterr()
    assert code in (0, 1, 2), captured.err
    assert "Traceback" not in captured.err
    assert "internal error" not in captured.err
    assert sorted(p.name for p in site.parent.iterdir() if p.name != "cache") == sorted(
        n for n in before if n != "cache"
    )
