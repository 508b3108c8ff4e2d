"""A real browser form upload: `lakegate presign post --html` writes the page, headless
Chromium (Debian's, driven by puppeteer-core from browser/) picks a file and submits it.

Needs node, chromium and `npm ci --prefix tests/e2e/browser`; without them the module
skips (fails with LAKEGATE_E2E_REQUIRE_TOOLS=1, as in CI)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import BROWSER, CHROMIUM, require_browser, run
from lgserver import lakegate_bin, scrubbed_env

NAME = "hello browser.txt"  # the key is uploads/${filename}: the file's basename
DATA = bytes(range(256)) * 4 + b"lakegate\n"


pytestmark = require_browser("puppeteer-core")


@pytest.fixture
def upload(server, bucket, tmp_path):
    """upload(*presign_args, data=DATA) -> the browser's JSON answer (see browser/form_upload.mjs)."""

    def go(*presign_args, data=DATA):
        env = scrubbed_env({"LAKEGATE_ROOT_USER": server.user,
                            "LAKEGATE_ROOT_PASSWORD": server.password})
        _, page, _ = run([str(lakegate_bin()), "presign", "post", "--endpoint", server.s3_url,
                          "--bucket", bucket, "--key", "uploads/${filename}", "--expires", "10m",
                          *presign_args, "--html"], env=env, timeout=60, server=server)
        form = tmp_path / "form.html"
        form.write_text(page)
        f = tmp_path / "pick" / NAME
        f.parent.mkdir()
        f.write_bytes(data)
        _, out, _ = run(["node", str(BROWSER / "form_upload.mjs"), str(form), str(f)],
                        env=scrubbed_env({"CHROMIUM": CHROMIUM}), timeout=60, server=server,
                        log=tmp_path / "browser.log")
        return json.loads(out.strip().splitlines()[-1])

    return go


def test_redirect_after_upload(s3, bucket, server, upload):
    # Any page that answers will do (403 to an anonymous GET); the '&' must survive the HTML.
    target = f"{server.s3_url}/?from=browser&n=1"
    res = upload("--max-size", "4096", "--redirect", target)
    got = s3.get_object(Bucket=bucket, Key=f"uploads/{NAME}")
    assert got["Body"].read() == DATA
    # success_action_redirect: 303 to the target with bucket, key and etag added to its query.
    assert [r["status"] for r in res["redirects"]] == [303], res
    assert res["url"].startswith(target + "&"), res
    q = parse_qs(urlsplit(res["url"]).query)
    assert q == {"from": ["browser"], "n": ["1"], "bucket": [bucket], "key": [f"uploads/{NAME}"],
                 "etag": [got["ETag"]]}, res


def test_success_status_201(s3, bucket, upload):
    res = upload("--max-size", "4096", "--success-status", "201")
    got = s3.get_object(Bucket=bucket, Key=f"uploads/{NAME}")
    assert got["Body"].read() == DATA
    assert res["status"] == 201, res
    for part in ("<PostResponse>", f"<Bucket>{bucket}</Bucket>", f"<Key>uploads/{NAME}</Key>",
                 f"<ETag>{got['ETag']}</ETag>"):
        assert part in res["body"], res


def test_too_large_is_refused(s3, bucket, upload):
    res = upload("--max-size", "1024", "--success-status", "201", data=DATA * 5)
    assert res["status"] == 400 and "EntityTooLarge" in res["body"], res
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket), "an object was written"
