"""The push webhook of the poller (poller.webhook and its endpoint): GitHub's HMAC-SHA256 signature
checked before the body is read, the tracked branch woken, anything else refused or ignored."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping

import pytest

from eoepca_gitops.poller.metrics import HealthServer, Metrics
from eoepca_gitops.poller.webhook import Answer, answer, signature

SECRET = b"s3cret-for-the-hook"
PUSH = json.dumps({"ref": "refs/heads/main", "after": "a" * 40}).encode()


def test_githubs_signature_is_hmac_sha256_of_the_body() -> None:
    # The example of GitHub's documentation ("Validating webhook deliveries").
    assert signature(b"It's a Secret to Everybody", b"Hello, World!") == (
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    )


@pytest.mark.parametrize(
    ("body", "headers", "expected"),
    [
        (PUSH, {"x-hub-signature-256": signature(SECRET, PUSH)}, Answer(202, "looking at Git now", True)),
        (PUSH, {}, Answer(401, "signature does not match")),
        (PUSH, {"x-hub-signature-256": signature(b"other", PUSH)}, Answer(401, "signature does not match")),
        (PUSH, {"x-hub-signature-256": "sha256=" + "0" * 64}, Answer(401, "signature does not match")),
        (
            b"{}",
            {"x-hub-signature-256": signature(SECRET, b"{}"), "x-github-event": "ping"},
            Answer(200, "pong"),
        ),
        (b"[1]", {"x-hub-signature-256": signature(SECRET, b"[1]")}, Answer(400, "not a push payload")),
        (
            b'{"ref": "refs/heads/dev"}',
            {"x-hub-signature-256": signature(SECRET, b'{"ref": "refs/heads/dev"}')},
            Answer(202, "refs/heads/dev: not the tracked branch, ignored"),
        ),
    ],
)
def test_only_a_signed_push_of_the_tracked_branch_wakes_the_poller(
    body: bytes, headers: dict[str, str], expected: Answer
) -> None:
    assert answer(SECRET, body, headers, "main") == expected


def test_the_endpoint_hands_the_body_and_headers_over() -> None:
    seen: list[tuple[bytes, str]] = []

    def hook(body: bytes, headers: Mapping[str, str]) -> tuple[int, str]:
        seen.append((body, headers["x-hub-signature-256"]))
        return 202, "ok"

    server = HealthServer("127.0.0.1", 0, Metrics(), lambda: True, lambda: True, hook)
    server.start()
    try:
        url = "http://{}:{}/hooks/github".format(*server.address)
        request = urllib.request.Request(url, PUSH, {"X-Hub-Signature-256": "sha256=x"}, method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert (response.status, response.read()) == (202, b"ok\n")
        assert seen == [(PUSH, "sha256=x")]
        wrong = urllib.request.Request(url.replace("github", "other"), PUSH, method="POST")
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(wrong, timeout=10)
    finally:
        server.stop()
