"""What an interactive bash makes of lines typed with a TAB: usage `/usr/bin/python3 bashCompletes.py SCRIPT LINE...`.

It starts `bash --norc --noprofile -i` in a pseudo-terminal (python's pty module), sources SCRIPT (bt's bash completion),
and makes readline's answers predictable: every candidate listed on the first TAB, one a line, never a question or a
pager. Then, for each LINE, it types the line (control keys included: ^B, "\x02", moves the cursor back) and one TAB, and a key bound (`bind -x`) to a function that reports
READLINE_LINE and empties the line. It prints one JSON array on stdout: for each LINE, {"line": what the line became,
"listed": the candidates bash listed (empty when it listed none)}. readline splits the words itself, with
COMP_WORDBREAKS, as it does for a person typing. Bounded: when bash does not answer within 25 s, it kills the bash it
started (by its PID), says what the terminal showed on stderr, and exits 3.
"""
import json
import os
import pty
import re
import select
import signal
import sys
import time

DEADLINE = time.monotonic() + 25
PROMPT = "bt-ready> "
ESCAPES = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|[()][0-9A-B]|[=>])")


def main() -> None:
    if len(sys.argv) < 2:
        print("usage: bashCompletes.py SCRIPT LINE...", file=sys.stderr)
        sys.exit(2)
    script, lines = sys.argv[1], sys.argv[2:]
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "TERM": "dumb",
        # No /etc/inputrc or ~/.inputrc: readline's settings are only the ones set below.
        "INPUTRC": "/dev/null",
        "COLUMNS": "1000",
        "LINES": "50",
    }
    pid, fd = pty.fork()
    if pid == 0:
        try:
            import fcntl
            import struct
            import termios

            # A wide terminal: no line ever wraps.
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 1000, 0, 0))
            os.execvpe("bash", ["bash", "--norc", "--noprofile", "-i"], env)
        finally:
            os._exit(127)
    seen = ""

    def fail(what: str) -> None:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        print(f"bash did not show {what} within 25 s; its terminal showed: {seen[-600:]!r}", file=sys.stderr)
        sys.exit(3)

    def await_(marker: str) -> str:
        """Reads the terminal until `marker` shows; returns what came before it and keeps what came after."""
        nonlocal seen
        while marker not in seen:
            left = DEADLINE - time.monotonic()
            if left <= 0:
                fail(repr(marker))
            ready, _, _ = select.select([fd], [], [], min(left, 1))
            if ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    chunk = b""
                if chunk == b"":
                    fail(repr(marker) + " (bash exited)")
                seen += chunk.decode("utf8", "replace")
        before, seen = seen.split(marker, 1)
        return before

    def write(text: str) -> None:
        os.write(fd, text.encode("utf8"))

    # Markers are written in two pieces in what is typed, so that the echo of what is typed is no match.
    setup = [
        f"PS1='{PROMPT[:3]}''{PROMPT[3:]}'",
        "set +o history",
        "unset HISTFILE",
        "bind 'set show-all-if-ambiguous on'",
        "bind 'set completion-query-items 0'",
        "bind 'set page-completions off'",
        "bind 'set completion-display-width 0'",
        "bind 'set enable-bracketed-paste off'",
        f"source '{script}'",
        "__report() { printf '\\036LINE%s\\036\\n' \"$READLINE_LINE\"; READLINE_LINE=''; READLINE_POINT=0; }",
        "bind -x '\"\\C-x\\C-r\": __report'",
        "echo SETUP''DONE",
    ]
    write("; ".join(setup) + "\n")
    await_("SETUPDONE")
    await_(PROMPT)
    results = []
    for line in lines:
        write(line + "\t\x18\x12")
        shown = await_("\x1eLINE")
        became = await_("\x1e")
        await_(PROMPT)
        # What the terminal showed: the line typed, then, where bash listed candidates, one a line and the prompt again.
        # (After the prompt comes what the bound key's function printed: no candidate.)
        rows = ESCAPES.sub("", shown).replace("\r", "").split("\n")
        listed = []
        for row in rows[1:]:
            if row.startswith(PROMPT):
                break
            if row != "":
                listed.append(row)
        results.append({"line": became, "listed": listed})
    write("exit\n")
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
    print(json.dumps(results))


main()
