"""Ragnarok's gRPC server, durable job store and worker supervisor."""
