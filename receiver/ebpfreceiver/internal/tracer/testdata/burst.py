"""Traffic for TestBurstKicks, run as a separate process.

Prints "pair <client port>" once a TCP connection exists, waits for a line
on stdin, then writes 20 chunks of 8 KiB from the client 20 ms apart (the
server reads each), prints "done", closes both ends and prints "closed".
"""
import os
import sys
import time

from sockets import loopback_pair, recv_exact, say


def main():
    c, s, _lst = loopback_pair()
    say("pair", c.getsockname()[1])
    sys.stdin.readline()
    chunk = b"x" * 8192
    for _ in range(20):
        os.write(c.fileno(), chunk)
        recv_exact(s, len(chunk))
        time.sleep(0.02)
    say("done")
    c.close()
    s.close()
    say("closed")


main()
