#!/usr/bin/env bash
# Regenerate the Python protobuf and gRPC code beside protos/ragnarok/v1/ragnarok.proto.
# Run after every change to a .proto file; CI fails when the committed code is stale.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
"$python" -m grpc_tools.protoc \
  -I protos -I third_party/googleapis \
  --python_out=protos --pyi_out=protos --grpc_python_out=protos \
  protos/ragnarok/v1/ragnarok.proto
touch protos/ragnarok/__init__.py protos/ragnarok/v1/__init__.py
