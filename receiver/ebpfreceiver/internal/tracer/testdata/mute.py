"""Traffic for TestMute, run as a separate process.

Prints "pair <client port>" once a TCP connection exists, writes 4 chunks
from the client, prints "phase1" and waits for a line on stdin (the test
mutes the client's connection), then writes 300 chunks with write(2) and
300 with writev(2) (the server reads them all with recv), prints "done",
waits for a line, closes both ends and prints "closed".
"""
import os
import sys

from sockets import loopback_pair, recv_exact, say


def main():
    c, s, _lst = loopback_pair()
    say("pair", c.getsockname()[1])
    chunk = bytes(range(100)) * 10
    for _ in range(4):
        os.write(c.fileno(), chunk)
        recv_exact(s, 1000)
    say("phase1")
    sys.stdin.readline()
    for _ in range(300):
        os.write(c.fileno(), chunk)
        recv_exact(s, 1000)
    for _ in range(300):
        os.writev(c.fileno(), [chunk[:400], chunk[400:]])
        recv_exact(s, 1000)
    say("done")
    sys.stdin.readline()
    c.close()
    s.close()
    say("closed")


main()
