"""Traffic for TestKnownProcessKicks, run as a separate process.

Prints "ready" and waits for a line on stdin (the tracer starts then), makes
20 short TCP connections to its own listener, 30 ms apart (longer than the
kick ring's 5 ms rate limit), each sending one byte, prints "done", waits
for a line on stdin and exits.
"""
import sys
import time

from sockets import listener, pair, recv_exact, say


def main():
    lst = listener(16)
    say("ready")
    sys.stdin.readline()
    for _ in range(20):
        c, s = pair(lst)
        c.send(b"x")
        recv_exact(s, 1)
        c.close()
        s.close()
        time.sleep(0.03)
    say("done")
    sys.stdin.readline()


main()
