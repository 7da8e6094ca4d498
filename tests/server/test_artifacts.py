"""ReadArtifact streams a completed job's known files, in ranges, and nothing else."""

from __future__ import annotations

import json
import subprocess

import grpc
import pytest
from ragnarok.v1 import ragnarok_pb2 as pb
from ragnarok.v1 import ragnarok_pb2_grpc as pb_grpc

from tests.support.jobs import submit, wait_terminal

MIB = 1024 * 1024


async def _read(stub: pb_grpc.RagnarokServiceStub, job_id: str, artifact: int = pb.ARTIFACT_VIDEO,
                offset: int = 0, limit: int = 0) -> list[pb.ReadArtifactResponse]:
    request = pb.ReadArtifactRequest(job_id=job_id, artifact=artifact, offset=offset, limit=limit)  # type: ignore[arg-type]
    return [chunk async for chunk in stub.ReadArtifact(request)]


async def _read_error(stub: pb_grpc.RagnarokServiceStub, job_id: str, **fields: int) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _read(stub, job_id, **fields)
    return caught.value


@pytest.fixture(scope="module")
def big_job_id(server) -> str:
    import asyncio

    async def run() -> str:
        async with grpc.aio.insecure_channel(server.grpc_target) as channel:
            stub = pb_grpc.RagnarokServiceStub(channel)
            job = await submit(stub, "#big")
            done = await wait_terminal(stub, job.job_id)
            assert done.status == pb.JOB_STATUS_COMPLETED, done.error
            return done.job_id

    return asyncio.run(run())


async def test_read_video_returns_file_in_chunks(stub, server, big_job_id, tmp_path) -> None:
    path = server.data_dir / "jobs" / big_job_id / "output" / "commercial.mp4"
    expected = path.read_bytes()
    assert len(expected) > 2 * MIB
    chunks = await _read(stub, big_job_id)
    assert all(len(chunk.data) <= MIB for chunk in chunks)
    assert len(chunks) == -(-len(expected) // MIB)
    assert [chunk.offset for chunk in chunks] == [index * MIB for index in range(len(chunks))]
    assert {chunk.total_size for chunk in chunks} == {len(expected)}
    assert {chunk.content_type for chunk in chunks} == {"video/mp4"}
    copy = tmp_path / "copy.mp4"
    copy.write_bytes(b"".join(chunk.data for chunk in chunks))
    assert copy.read_bytes() == expected
    probe = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-of", "json", str(copy)],
        check=True, capture_output=True, text=True).stdout)
    assert float(probe["format"]["duration"]) == pytest.approx(4.0, abs=0.1)


@pytest.mark.parametrize(("offset", "limit"), [(0, 1), (10, 100), (MIB - 5, 10), (MIB + 7, 2 * MIB), (100, 0)])
async def test_read_range_matches_file_slice(stub, server, big_job_id, offset: int, limit: int) -> None:
    expected = (server.data_dir / "jobs" / big_job_id / "output" / "commercial.mp4").read_bytes()
    chunks = await _read(stub, big_job_id, offset=offset, limit=limit)
    end = len(expected) if limit == 0 else min(len(expected), offset + limit)
    assert b"".join(chunk.data for chunk in chunks) == expected[offset:end]
    assert chunks[0].offset == offset


@pytest.mark.parametrize(
    ("artifact", "content_type", "relative"),
    [(pb.ARTIFACT_THUMBNAIL, "image/jpeg", "thumbnail.jpg"),
     (pb.ARTIFACT_CAPTIONS_SRT, "application/x-subrip", "captions.srt"),
     (pb.ARTIFACT_CAPTIONS_VTT, "text/vtt", "captions.vtt")],
)
async def test_read_other_artifacts(stub, server, big_job_id, artifact: int, content_type: str, relative: str) -> None:
    chunks = await _read(stub, big_job_id, artifact=artifact)
    assert b"".join(chunk.data for chunk in chunks) == (
        server.data_dir / "jobs" / big_job_id / "output" / relative).read_bytes()
    assert chunks[0].content_type == content_type


async def test_offset_at_end_returns_empty_chunk(stub, big_job_id) -> None:
    size = (await _read(stub, big_job_id, limit=1))[0].total_size
    chunks = await _read(stub, big_job_id, offset=size)
    assert [(chunk.data, chunk.total_size) for chunk in chunks] == [(b"", size)]


async def test_offset_past_end_is_out_of_range(stub, big_job_id) -> None:
    size = (await _read(stub, big_job_id, limit=1))[0].total_size
    error = await _read_error(stub, big_job_id, offset=size + 1)
    assert error.code() == grpc.StatusCode.OUT_OF_RANGE


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"artifact": pb.ARTIFACT_UNSPECIFIED}, "artifact"), ({"artifact": 99}, "artifact"),
     ({"offset": -1}, "offset"), ({"limit": -1}, "limit")],
)
async def test_bad_read_request_is_invalid_argument(stub, big_job_id, fields: dict[str, int], field: str) -> None:
    error = await _read_error(stub, big_job_id, **fields)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in error.details()


async def test_artifact_of_unfinished_job_is_not_found(stub) -> None:
    job = await submit(stub, "#slow")
    error = await _read_error(stub, job.job_id)
    assert error.code() == grpc.StatusCode.NOT_FOUND
    await stub.CancelJob(pb.CancelJobRequest(job_id=job.job_id))


async def test_artifact_of_failed_job_is_not_found(stub) -> None:
    job = await submit(stub, "#fail")
    await wait_terminal(stub, job.job_id)
    error = await _read_error(stub, job.job_id)
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert "failed" in error.details()


async def test_unknown_job_artifact_is_not_found(stub) -> None:
    error = await _read_error(stub, "job_000000000000")
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error.details() == "Job not found: job_000000000000"


async def test_files_outside_job_directory_are_never_served(stub, server, big_job_id) -> None:
    # A file planted in the job directory is not an artifact: only the result's recorded paths are served.
    planted = server.data_dir / "jobs" / big_job_id / "secret.txt"
    planted.write_text("not an artifact")
    for artifact in pb.Artifact.values():
        try:
            chunks = await _read(stub, big_job_id, artifact=artifact)
        except grpc.aio.AioRpcError:
            continue
        assert b"not an artifact" not in b"".join(chunk.data for chunk in chunks)
