"""Soak: submit a job and cancel it at once, 1,000 times; print the server's growth.

    .venv/bin/python bench/soak_submit_cancel.py [--cycles 1000]

Starts its own `ragnarok serve` (with the test pipeline double) in a temporary
directory and measures the server's resident memory and open file descriptors
before and after the cycles. Some jobs are claimed by a worker before the cancel
arrives, so worker start-up and stop are part of what is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO_ROOT), str(REPO_ROOT / "protos")]

from tests.reliability.soak import soak_submit_cancel  # noqa: E402
from tests.support.servers import running_server  # noqa: E402


async def run(cycles: int) -> int:
    with tempfile.TemporaryDirectory() as scratch, running_server(Path(scratch) / "data", extra_args=["--no-http"]) as handle:
        result = await soak_submit_cancel(handle.grpc_target, handle.pid, cycles)
    print(result.summary("submit-cancel"))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=1000, help="submit-then-cancel cycles (default 1000)")
    return asyncio.run(run(parser.parse_args().cycles))


if __name__ == "__main__":
    sys.exit(main())
