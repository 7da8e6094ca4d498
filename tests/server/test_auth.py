"""With API keys configured, every RPC but health and reflection needs one."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from ragnarok.v1 import ragnarok_pb2 as pb
from ragnarok.v1 import ragnarok_pb2_grpc as pb_grpc

from tests.support.jobs import brief


@pytest.fixture
def keyed_server(server_factory):
    return server_factory(extra_args=["--no-http"], env={"RAGNAROK_API_KEYS": "key-one,key-two"})


@pytest.mark.parametrize("metadata", [(), (("x-api-key", "wrong"),), (("authorization", "Bearer nope"),)])
async def test_calls_without_valid_key_are_unauthenticated(keyed_server, metadata) -> None:
    async with grpc.aio.insecure_channel(keyed_server.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.Generate(pb.GenerateRequest(brief=brief()), metadata=metadata)
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            async for _ in stub.WatchJob(pb.WatchJobRequest(job_id="job_000000000000"), metadata=metadata):
                pass
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize("metadata", [(("x-api-key", "key-two"),), (("authorization", "Bearer key-one"),)])
async def test_valid_key_is_accepted(keyed_server, metadata) -> None:
    async with grpc.aio.insecure_channel(keyed_server.grpc_target) as channel:
        stub = pb_grpc.RagnarokServiceStub(channel)
        job = (await stub.Generate(pb.GenerateRequest(brief=brief()), metadata=metadata)).job
        fetched = (await stub.GetJob(pb.GetJobRequest(job_id=job.job_id), metadata=metadata)).job
        assert fetched.job_id == job.job_id


async def test_health_needs_no_key(keyed_server) -> None:
    async with grpc.aio.insecure_channel(keyed_server.grpc_target) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
