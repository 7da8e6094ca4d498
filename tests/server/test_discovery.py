"""Health checking and server reflection, so generic gRPC tools can find and call the service."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import descriptor_pool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase


@pytest.mark.parametrize("service", ["", "ragnarok.v1.RagnarokService"])
def test_health_serving(server, service: str) -> None:
    with grpc.insecure_channel(server.grpc_target) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_reflection_lists_and_describes_service(server) -> None:
    with grpc.insecure_channel(server.grpc_target) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        services = set(database.get_services())
        assert {"ragnarok.v1.RagnarokService", "grpc.health.v1.Health"} <= services
        pool = descriptor_pool.DescriptorPool(database)
        service = pool.FindServiceByName("ragnarok.v1.RagnarokService")
        methods = {method.name: method for method in service.methods}
    assert set(methods) == {"Generate", "GetJob", "ListJobs", "CancelJob", "WatchJob", "ReadArtifact"}
    assert methods["WatchJob"].output_type.full_name == "ragnarok.v1.WatchJobResponse"
    assert "brief" in methods["Generate"].input_type.fields_by_name
