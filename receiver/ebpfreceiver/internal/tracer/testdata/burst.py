"""Traffic for TestFillKicks, run as a separate process.

Prints "ready" and waits for a line on stdin (the tracer starts then), makes
one TCP connection to its own listener, prints "paired" and waits for a
line, then sends 4096 messages of 2 KiB over it as fast as the other end
reads them (16 MiB of records, both ends), prints "done", waits for a line
and exits.
"""
import sys

from sockets import listener, pair, recv_exact, say


def main():
    lst = listener()
    say("ready")
    sys.stdin.readline()
    c, s = pair(lst)
    say("paired")
    sys.stdin.readline()
    msg = b"b" * 2048
    for _ in range(4096):
        c.sendall(msg)
        recv_exact(s, len(msg))
    say("done")
    sys.stdin.readline()


main()
