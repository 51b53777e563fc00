"""A DAC for the ALSA test sandbox: consumes a FIFO at real time (24 kHz PCM16 mono).

    python3 dac.py FIFO OUT

The sandbox's `ptt_dac` device is the ALSA `file` plugin writing into FIFO. This reader shrinks
the FIFO to one page (85 ms), so a full FIFO blocks aplay the way a full sound card buffer
does, and takes 48 bytes per millisecond from the first byte on, appending what it consumed to
OUT: at any moment OUT holds what a listener has heard (within the 2 ms tick). When the FIFO
runs dry the DAC stops, like an ALSA underrun, and starts again with the next byte. Node has no
fcntl(F_SETPIPE_SZ), hence Python. Exits when its parent (the test) is gone.
"""
import fcntl
import os
import sys
import time

F_SETPIPE_SZ = 1031
BYTES_PER_S = 48000

fifo, out_path = sys.argv[1], sys.argv[2]
parent = os.getppid()
fd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)  # read-write: opening never waits for a writer
fcntl.fcntl(fd, F_SETPIPE_SZ, 4096)
out = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
print("ready", flush=True)


def take(n):
    try:
        return os.read(fd, n)
    except BlockingIOError:
        return b""


anchor = None  # [time playing started, bytes consumed since]
dry_since = None
while os.getppid() == parent:
    now = time.monotonic()
    if anchor is None:
        data = take(2)
        if data:
            anchor = [now, len(data)]
    else:
        due = int((now - anchor[0]) * BYTES_PER_S) // 2 * 2 - anchor[1]
        data = take(due) if due > 0 else b""
        anchor[1] += len(data)
        # The file plugin writes in bursts, so the FIFO may be empty for a moment while aplay
        # has more: only a FIFO empty for 50 ms is an underrun (the clock restarts with the next byte).
        if due > 0 and len(data) < due:
            dry_since = dry_since or now
            if now - dry_since > 0.05:
                anchor = dry_since = None
        else:
            dry_since = None
    if data:
        os.write(out, data)
    time.sleep(0.002)
