"""REST gateway: the original HTTP contract, served by translating each request to the gRPC API."""
