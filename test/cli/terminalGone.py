"""
Runs a command with its stdin and stdout on a pseudo-terminal and its stderr on a pipe, waits until the command has
printed a "%", then closes the terminal's master side, as a terminal emulator or sshd does when its window or
connection goes: the command's next writes to stdout fail with EIO. With "controlling", the terminal is the
command's controlling terminal (as in a login shell), so the kernel also sends it SIGHUP; with "plain", it is not.
Prints one JSON line: the exit code (negative: the signal that ended it), whether a "%" was seen, and stderr.
Bounded: 30 s for the "%", 30 s for the exit, then the command is killed (by its PID).

usage: terminalGone.py controlling|plain COMMAND [ARG...]
"""
import fcntl
import json
import os
import select
import subprocess
import sys
import termios
import time

mode, command = sys.argv[1], sys.argv[2:]
master, slave = os.openpty()


def take_terminal():
    # In the child, after start_new_session's setsid: the terminal becomes the new session's controlling terminal.
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)


child = subprocess.Popen(
    command,
    stdin=slave,
    stdout=slave,
    stderr=subprocess.PIPE,
    start_new_session=True,
    preexec_fn=take_terminal if mode == "controlling" else None,
)
os.close(slave)
seen, deadline = b"", time.monotonic() + 30
while b"%" not in seen and time.monotonic() < deadline and child.poll() is None:
    ready, _, _ = select.select([master], [], [], 0.5)
    if ready:
        try:
            seen += os.read(master, 65536)
        except OSError:
            break
os.close(master)
try:
    code = child.wait(timeout=30)
except subprocess.TimeoutExpired:
    child.kill()
    code = None
stderr = child.stderr.read().decode("utf8", "replace")
print(json.dumps({"code": code, "seen": b"%" in seen, "stderr": stderr}))
