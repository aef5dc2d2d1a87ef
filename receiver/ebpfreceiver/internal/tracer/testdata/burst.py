"""Traffic for TestBurstKicks, run as a separate process.

Prints "pair <client port>" once a TCP connection exists, waits for a line
on stdin, then writes 20 chunks of 8 KiB from the client 20 ms apart (the
server reads each), prints "done", closes both ends and prints "closed".
"""
import os
import socket
import sys
import time

from sockets import recv_exact, say


def main():
    lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lst.bind(("127.0.0.1", 0))
    lst.listen(1)
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.connect(lst.getsockname())
    s, _ = lst.accept()
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
