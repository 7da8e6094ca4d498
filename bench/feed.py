"""Write a raw video file to stdout one frame at a time, as the renderer feeds ffmpeg.

    python -m bench.feed FRAMES.yuv FRAME_BYTES | ffmpeg -f rawvideo ... -i pipe:0 ...

It enlarges the stdout pipe to 1 MiB, as pipeline.render does, and writes each frame with
os.write from one reused buffer, so the reference encode pays the same hand-off cost.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sys

logger = logging.getLogger(__name__)

F_SETPIPE_SZ = 1031
PIPE_BYTES = 1 << 20


def feed(path: str, frame_bytes: int, out_fd: int) -> int:
    """Copy the frames of `path` to `out_fd`; return the number of frames written."""
    try:
        fcntl.fcntl(out_fd, F_SETPIPE_SZ, PIPE_BYTES)
    except OSError:
        logger.warning("could not enlarge the output pipe; feeding through the default pipe size")
    buffer = bytearray(frame_bytes)
    frames = 0
    with open(path, "rb", buffering=0) as source:
        while True:
            count = source.readinto(buffer)
            if not count:
                break
            view = memoryview(buffer)[:count]
            while view:
                view = view[os.write(out_fd, view) :]
            frames += 1
    return frames


def main() -> int:
    if len(sys.argv) != 3:
        print("usage: python -m bench.feed FRAMES.yuv FRAME_BYTES", file=sys.stderr)
        return 2
    try:
        feed(sys.argv[1], int(sys.argv[2]), sys.stdout.fileno())
    except BrokenPipeError:
        print("the encoder closed its input early", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
