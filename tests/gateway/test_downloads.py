"""File downloads through the gateway, by name and by artifact: whole files, byte ranges, HEAD, errors, traversal."""

from __future__ import annotations

import http.client
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from gateway.app import create_app
from gateway.downloads import ARTIFACT_NAMES
from ragnarok.v1 import ragnarok_pb2
from tests.gateway.conftest import GatewayFactory, GatewayHandle, serve_in_thread
from tests.gateway.helpers import API, TERMINAL, UNKNOWN_JOB_ID, completed_job, submit, wait_for_status
from tests.support.servers import ServerHandle, running_server

LARGE_VIDEO_ENTRY = "tests.gateway.large_video_pipeline:run_job"
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def done(gateway: GatewayHandle) -> dict[str, Any]:
    with gateway.client() as client:
        return completed_job(client)


@pytest.fixture(scope="module")
def video(gateway: GatewayHandle, done: dict[str, Any]) -> bytes:
    with gateway.client() as client:
        response = client.get(done["result"]["video_url"])
    assert response.status_code == 200
    return response.content


def _probe(path: Path) -> dict[str, Any]:
    output = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        check=True, capture_output=True, text=True,
    ).stdout
    probed: dict[str, Any] = json.loads(output)
    return probed


def test_video_download_is_playable_mp4(
    client: httpx.Client, done: dict[str, Any], tmp_path: Path
) -> None:
    response = client.get(done["result"]["video_url"])

    assert response.status_code == 200
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["accept-ranges"] == "bytes"
    assert int(response.headers["content-length"]) == len(response.content)
    assert "content-encoding" not in response.headers
    path = tmp_path / "video.mp4"
    path.write_bytes(response.content)
    probed = _probe(path)
    assert {stream["codec_type"] for stream in probed["streams"]} == {"video", "audio"}
    [video_stream] = [stream for stream in probed["streams"] if stream["codec_type"] == "video"]
    assert (video_stream["codec_name"], video_stream["width"], video_stream["height"]) == ("h264", 160, 90)
    assert float(probed["format"]["duration"]) == pytest.approx(1.0, abs=0.1)


def test_video_download_ignores_gzip_request(client: httpx.Client, done: dict[str, Any], video: bytes) -> None:
    response = client.get(done["result"]["video_url"], headers={"Accept-Encoding": "gzip"})

    assert "content-encoding" not in response.headers
    assert response.content == video


@pytest.mark.parametrize(
    ("name", "media_type", "starts_with"),
    [
        ("thumbnail", "image/jpeg", b"\xff\xd8"),
        ("captions.srt", "application/x-subrip", b"1\n00:00:00,000 --> 00:00:01,000\nHello"),
        ("captions.vtt", "text/vtt; charset=utf-8", b"WEBVTT"),
    ],
)
def test_other_files_download(
    client: httpx.Client, done: dict[str, Any], name: str, media_type: str, starts_with: bytes
) -> None:
    response = client.get(f"{API}/jobs/{done['job_id']}/{name}", headers={"Accept-Encoding": "gzip"})

    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    assert "content-encoding" not in response.headers
    assert response.content.startswith(starts_with)
    assert int(response.headers["content-length"]) == len(response.content)


@pytest.mark.parametrize(
    ("range_header", "expected_slice"),
    [
        ("bytes=0-99", slice(0, 100)),
        ("bytes=100-", slice(100, None)),
        ("bytes=-50", slice(-50, None)),
        ("bytes=10-10", slice(10, 11)),
        ("bytes=0-99999999", slice(0, None)),
        ("bytes = 5 - 9", slice(5, 10)),
    ],
)
def test_range_request_returns_206(
    client: httpx.Client, done: dict[str, Any], video: bytes, range_header: str, expected_slice: slice
) -> None:
    response = client.get(done["result"]["video_url"], headers={"Range": range_header})

    expected = video[expected_slice]
    start, _, _ = expected_slice.indices(len(video))
    assert response.status_code == 206
    assert response.content == expected
    assert response.headers["content-length"] == str(len(expected))
    assert response.headers["content-range"] == f"bytes {start}-{start + len(expected) - 1}/{len(video)}"
    assert response.headers["content-type"] == "video/mp4"


@pytest.mark.parametrize("range_header", ["bytes=5-2", "bytes=0-1,5-6", "items=0-5", "bytes=abc", "bytes=-"])
def test_unusable_range_sends_whole_file(
    client: httpx.Client, done: dict[str, Any], video: bytes, range_header: str
) -> None:
    response = client.get(done["result"]["video_url"], headers={"Range": range_header})

    assert response.status_code == 200
    assert response.content == video


@pytest.mark.parametrize("range_header", ["bytes={size}-", "bytes={size}-{size}", "bytes=-0"])
def test_unsatisfiable_range_returns_416(
    client: httpx.Client, done: dict[str, Any], video: bytes, range_header: str
) -> None:
    header = range_header.format(size=len(video))

    response = client.get(done["result"]["video_url"], headers={"Range": header})

    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(video)}"
    assert response.json() == {
        "detail": f"Range not satisfiable: {header!r} starts past the end of the {len(video)}-byte file"
    }


def test_if_range_with_other_etag_sends_whole_file(client: httpx.Client, done: dict[str, Any], video: bytes) -> None:
    etag = client.head(done["result"]["video_url"]).headers["etag"]

    matching = client.get(done["result"]["video_url"], headers={"Range": "bytes=0-9", "If-Range": etag})
    other = client.get(done["result"]["video_url"], headers={"Range": "bytes=0-9", "If-Range": '"other"'})

    assert matching.status_code == 206
    assert other.status_code == 200
    assert other.content == video


def test_head_returns_headers_only(client: httpx.Client, done: dict[str, Any], video: bytes) -> None:
    whole = client.head(done["result"]["video_url"])
    ranged = client.head(done["result"]["video_url"], headers={"Range": "bytes=0-99"})

    assert whole.status_code == 200
    assert whole.content == b""
    assert whole.headers["content-length"] == str(len(video))
    assert whole.headers["content-type"] == "video/mp4"
    assert whole.headers["accept-ranges"] == "bytes"
    assert ranged.status_code == 206
    assert ranged.headers["content-range"] == f"bytes 0-99/{len(video)}"
    assert ranged.headers["content-length"] == "100"


@pytest.mark.parametrize("job_id", [UNKNOWN_JOB_ID, "nope", "JOB_000000000000"])
def test_download_of_unknown_job_returns_404(client: httpx.Client, job_id: str) -> None:
    response = client.get(f"{API}/jobs/{job_id}/video")

    assert response.status_code == 404
    assert response.json() == {"detail": f"Job not found: {job_id}"}


def test_download_of_unfinished_job_returns_404(client: httpx.Client) -> None:
    job = submit(client, "An ad that never finishes #hang")
    wait_for_status(client, job["job_id"], {"running"})

    response = client.get(f"{API}/jobs/{job['job_id']}/video")
    head = client.head(f"{API}/jobs/{job['job_id']}/thumbnail")
    client.delete(f"{API}/jobs/{job['job_id']}")

    assert response.status_code == 404
    assert response.json() == {
        "detail": f"File not found: video of job {job['job_id']}, which is running; files exist once the job completes"
    }
    assert head.status_code == 404


def test_download_of_failed_job_returns_404(client: httpx.Client) -> None:
    job = submit(client, "An ad that breaks #fail")
    wait_for_status(client, job["job_id"], TERMINAL)

    response = client.get(f"{API}/jobs/{job['job_id']}/captions.vtt")

    assert response.status_code == 404
    assert "which is failed" in response.json()["detail"]


def _raw_get(base_url: str, path: str) -> tuple[int, bytes]:
    # http.client sends the path byte for byte; httpx would normalise "..".
    address = urlsplit(base_url)
    connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


TRAVERSAL_PATHS = [
    "/jobs/{job_id}/../../../../etc/passwd",
    "/jobs/{job_id}/%2e%2e/%2e%2e/ragnarok.sqlite3",
    "/jobs/{job_id}/..%2f..%2fragnarok.sqlite3",
    "/jobs/{job_id}/%2E%2E%2F%2E%2E%2Fragnarok.sqlite3",
    "/jobs/{job_id}/video%2f..%2f..%2fragnarok.sqlite3",
    "/jobs/{job_id}/output%2fcommercial.mp4",
    "/jobs/{job_id}/output/commercial.mp4",
    "/jobs/{job_id}/commercial.mp4",
    "/jobs/{job_id}/VIDEO",
    "/jobs/{job_id}/video.mp4",
    "/jobs/{job_id}/captions.srt%00",
    "/jobs/{job_id}/%76ideo%2f..",
    "/jobs/%2e%2e/video",
    "/jobs/..%2f{job_id}/video",
    "/jobs/{job_id}%2f..%2f{job_id}/video",
    "/jobs/{job_id}/./video/..",
]


@pytest.mark.parametrize("path", TRAVERSAL_PATHS)
def test_traversal_attempt_reads_nothing(gateway: GatewayHandle, done: dict[str, Any], path: str) -> None:
    status, body = _raw_get(gateway.base_url, API + path.format(job_id=done["job_id"]))

    assert status == 404
    assert b"ftyp" not in body
    assert b"SQLite format" not in body
    assert b"root:" not in body
    assert "detail" in json.loads(body)


@pytest.fixture(scope="module")
def large_video_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayHandle]:
    data_dir = tmp_path_factory.mktemp("large") / "data"
    with running_server(data_dir, env={"RAGNAROK_PIPELINE_ENTRY": LARGE_VIDEO_ENTRY}) as handle:
        app = create_app(handle.grpc_target)
        with serve_in_thread(app) as base_url:
            yield GatewayHandle(app, base_url)


def test_large_video_streams_across_chunks(large_video_gateway: GatewayHandle, tmp_path: Path) -> None:
    with large_video_gateway.client() as client:
        done = completed_job(client)
        whole = client.get(done["result"]["video_url"])
        across = client.get(done["result"]["video_url"], headers={"Range": f"bytes={MIB - 10}-{2 * MIB + 9}"})

    assert whole.status_code == 200
    assert len(whole.content) > 2 * MIB
    assert across.status_code == 206
    assert across.content == whole.content[MIB - 10:2 * MIB + 10]
    path = tmp_path / "large.mp4"
    path.write_bytes(whole.content)
    probed = _probe(path)
    assert float(probed["format"]["duration"]) == pytest.approx(5.0, abs=0.1)
    [video_stream] = [stream for stream in probed["streams"] if stream["codec_type"] == "video"]
    assert (video_stream["width"], video_stream["height"]) == (640, 360)


def test_forwarded_headers_build_urls_when_trusted(server: ServerHandle, gateway_factory: GatewayFactory) -> None:
    trusting = gateway_factory(server.grpc_target, trust_forwarded_headers=True)
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "ads.example.com"}
    with trusting.client() as client:
        done = completed_job(client)
        via_proxy = client.get(f"{API}/jobs/{done['job_id']}", headers=forwarded).json()
        bad_host = client.get(f"{API}/jobs/{done['job_id']}",
                              headers={"X-Forwarded-Host": "evil.com/path?x="}).json()

    assert via_proxy["result"]["video_url"] == f"https://ads.example.com{API}/jobs/{done['job_id']}/video"
    assert bad_host["result"]["video_url"].startswith(trusting.base_url)


def test_forwarded_headers_ignored_by_default(client: httpx.Client, gateway: GatewayHandle,
                                              done: dict[str, Any]) -> None:
    response = client.get(f"{API}/jobs/{done['job_id']}", headers={"X-Forwarded-Host": "ads.example.com"})

    assert response.json()["result"]["video_url"].startswith(gateway.base_url)


# Every value {artifact} accepts, with the contract route that serves the same file.
ARTIFACT_ROUTES = [
    ("ARTIFACT_VIDEO", "video"),
    ("video", "video"),
    ("ARTIFACT_THUMBNAIL", "thumbnail"),
    ("thumbnail", "thumbnail"),
    ("ARTIFACT_CAPTIONS_SRT", "captions.srt"),
    ("captions_srt", "captions.srt"),
    ("captions.srt", "captions.srt"),
    ("ARTIFACT_CAPTIONS_VTT", "captions.vtt"),
    ("captions_vtt", "captions.vtt"),
    ("captions.vtt", "captions.vtt"),
]


def test_artifact_names_cover_every_artifact() -> None:
    enum_names = {value.name for value in ragnarok_pb2.Artifact.DESCRIPTOR.values} - {"ARTIFACT_UNSPECIFIED"}

    assert set(ARTIFACT_NAMES) == {artifact for artifact, _ in ARTIFACT_ROUTES}
    assert enum_names <= set(ARTIFACT_NAMES)


@pytest.mark.parametrize("artifact", ["ARTIFACT_VIDEO", "video"])
def test_artifact_route_returns_video(
    client: httpx.Client, done: dict[str, Any], video: bytes, artifact: str
) -> None:
    contract = client.head(f"{API}/jobs/{done['job_id']}/video")

    response = client.get(f"{API}/jobs/{done['job_id']}/artifacts/{artifact}")

    assert response.status_code == 200
    assert response.content == video
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["content-length"] == str(len(video))
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["etag"] == contract.headers["etag"]
    assert response.headers["content-disposition"] == contract.headers["content-disposition"]
    assert "content-encoding" not in response.headers


@pytest.mark.parametrize(("artifact", "route"), ARTIFACT_ROUTES)
def test_artifact_route_matches_contract_route(
    client: httpx.Client, done: dict[str, Any], artifact: str, route: str
) -> None:
    contract = client.get(f"{API}/jobs/{done['job_id']}/{route}")

    response = client.get(f"{API}/jobs/{done['job_id']}/artifacts/{artifact}", headers={"Accept-Encoding": "gzip"})

    assert contract.status_code == 200
    assert response.status_code == 200
    assert response.content == contract.content
    for header in ("content-type", "content-length", "etag", "cache-control", "content-disposition"):
        assert response.headers[header] == contract.headers[header], header
    assert "content-encoding" not in response.headers


def test_artifact_route_range_returns_206(client: httpx.Client, done: dict[str, Any], video: bytes) -> None:
    response = client.get(f"{API}/jobs/{done['job_id']}/artifacts/ARTIFACT_VIDEO", headers={"Range": "bytes=100-199"})

    assert response.status_code == 206
    assert response.content == video[100:200]
    assert response.headers["content-length"] == "100"
    assert response.headers["content-range"] == f"bytes 100-199/{len(video)}"
    assert response.headers["content-type"] == "video/mp4"


def test_artifact_route_suffix_range_of_captions(client: httpx.Client, done: dict[str, Any]) -> None:
    whole = client.get(f"{API}/jobs/{done['job_id']}/captions.vtt").content

    response = client.get(f"{API}/jobs/{done['job_id']}/artifacts/captions_vtt", headers={"Range": "bytes=-5"})

    assert response.status_code == 206
    assert response.content == whole[-5:]
    assert response.headers["content-range"] == f"bytes {len(whole) - 5}-{len(whole) - 1}/{len(whole)}"


def test_artifact_route_unsatisfiable_range_returns_416(
    client: httpx.Client, done: dict[str, Any], video: bytes
) -> None:
    header = f"bytes={len(video)}-"

    response = client.get(f"{API}/jobs/{done['job_id']}/artifacts/video", headers={"Range": header})

    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(video)}"
    assert response.json() == {
        "detail": f"Range not satisfiable: {header!r} starts past the end of the {len(video)}-byte file"
    }


def test_artifact_route_if_range_with_other_etag(client: httpx.Client, done: dict[str, Any], video: bytes) -> None:
    url = f"{API}/jobs/{done['job_id']}/artifacts/ARTIFACT_VIDEO"
    etag = client.head(f"{API}/jobs/{done['job_id']}/video").headers["etag"]

    matching = client.get(url, headers={"Range": "bytes=0-9", "If-Range": etag})
    other = client.get(url, headers={"Range": "bytes=0-9", "If-Range": '"other"'})

    assert matching.status_code == 206
    assert matching.content == video[:10]
    assert other.status_code == 200
    assert other.content == video


def test_artifact_route_head_returns_headers_only(client: httpx.Client, done: dict[str, Any], video: bytes) -> None:
    url = f"{API}/jobs/{done['job_id']}/artifacts/ARTIFACT_VIDEO"

    whole = client.head(url)
    ranged = client.head(url, headers={"Range": "bytes=0-99"})

    assert whole.status_code == 200
    assert whole.content == b""
    assert whole.headers["content-length"] == str(len(video))
    assert whole.headers["content-type"] == "video/mp4"
    assert ranged.status_code == 206
    assert ranged.content == b""
    assert ranged.headers["content-range"] == f"bytes 0-99/{len(video)}"


@pytest.mark.parametrize(
    "artifact",
    ["movie", "VIDEO", "artifact_video", "Artifact_Video", "ARTIFACT_UNSPECIFIED", "unspecified", "0", "1",
     "captions", "captions.txt", "video.mp4"],
)
def test_unknown_artifact_returns_422(client: httpx.Client, done: dict[str, Any], artifact: str) -> None:
    response = client.get(f"{API}/jobs/{done['job_id']}/artifacts/{artifact}")
    head = client.head(f"{API}/jobs/{done['job_id']}/artifacts/{artifact}")

    [item] = response.json()["detail"]
    assert response.status_code == 422
    assert item["loc"] == ["path", "artifact"]
    assert item["type"] == "enum"
    assert item["msg"].startswith("Invalid artifact ")
    for name in ("ARTIFACT_VIDEO", "ARTIFACT_CAPTIONS_VTT", "video", "captions_srt", "captions.vtt"):
        assert name in item["msg"]
    assert head.status_code == 422


def test_unknown_artifact_message_names_value(client: httpx.Client, done: dict[str, Any]) -> None:
    response = client.get(f"{API}/jobs/{done['job_id']}/artifacts/movie")

    assert response.json() == {"detail": [{
        "loc": ["path", "artifact"],
        "msg": "Invalid artifact 'movie'. Use one of ARTIFACT_VIDEO, ARTIFACT_THUMBNAIL, ARTIFACT_CAPTIONS_SRT, "
               "ARTIFACT_CAPTIONS_VTT, video, thumbnail, captions_srt, captions_vtt, captions.srt, captions.vtt",
        "type": "enum",
    }]}


@pytest.mark.parametrize("job_id", [UNKNOWN_JOB_ID, "nope", "JOB_000000000000"])
@pytest.mark.parametrize("artifact", ["ARTIFACT_VIDEO", "thumbnail"])
def test_artifact_of_unknown_job_returns_404(client: httpx.Client, job_id: str, artifact: str) -> None:
    response = client.get(f"{API}/jobs/{job_id}/artifacts/{artifact}")
    head = client.head(f"{API}/jobs/{job_id}/artifacts/{artifact}")

    assert response.status_code == 404
    assert response.json() == {"detail": f"Job not found: {job_id}"}
    assert head.status_code == 404


def test_artifact_of_unfinished_job_returns_404(client: httpx.Client) -> None:
    job = submit(client, "An ad that never finishes #hang")
    wait_for_status(client, job["job_id"], {"running"})

    response = client.get(f"{API}/jobs/{job['job_id']}/artifacts/ARTIFACT_VIDEO")
    head = client.head(f"{API}/jobs/{job['job_id']}/artifacts/thumbnail")
    client.delete(f"{API}/jobs/{job['job_id']}")

    assert response.status_code == 404
    assert response.json() == {
        "detail": f"File not found: video of job {job['job_id']}, which is running; files exist once the job completes"
    }
    assert head.status_code == 404


ARTIFACT_TRAVERSAL_PATHS = [
    "/jobs/{job_id}/artifacts/../../../../etc/passwd",
    "/jobs/{job_id}/artifacts/%2e%2e%2f%2e%2e%2fragnarok.sqlite3",
    "/jobs/{job_id}/artifacts/video%2f..%2f..%2fragnarok.sqlite3",
    "/jobs/{job_id}/artifacts/video/..",
    "/jobs/{job_id}/artifacts/ARTIFACT_VIDEO%00",
    "/jobs/%2e%2e/artifacts/video",
]


@pytest.mark.parametrize("path", ARTIFACT_TRAVERSAL_PATHS)
def test_artifact_traversal_attempt_reads_nothing(gateway: GatewayHandle, done: dict[str, Any], path: str) -> None:
    status, body = _raw_get(gateway.base_url, API + path.format(job_id=done["job_id"]))

    assert status in (404, 422)
    assert b"ftyp" not in body
    assert b"SQLite format" not in body
    assert b"root:" not in body
    assert "detail" in json.loads(body)


def test_openapi_documents_artifact_route(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    path = spec["paths"][f"{API}/jobs/{{job_id}}/artifacts/{{artifact}}"]

    assert sorted(path) == ["get", "head"]
    assert path["get"]["summary"] == "Download a file of a completed job by artifact name"
    assert path["head"]["summary"] == "Download a file of a completed job by artifact name: headers only"
    assert path["get"]["operationId"] == "get_artifact"
    assert set(path["get"]["responses"]) >= {"200", "206", "404", "416", "422"}
    assert set(path["get"]["responses"]["200"]["content"]) == {
        "video/mp4", "image/jpeg", "application/x-subrip", "text/vtt",
    }
    [artifact] = [parameter for parameter in path["get"]["parameters"] if parameter["name"] == "artifact"]
    assert artifact["in"] == "path"
    assert artifact["schema"]["enum"] == list(ARTIFACT_NAMES)
