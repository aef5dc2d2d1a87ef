"""Socket traffic for the tracer tests, run as a separate process.

Protocol: prints "ready ..." once a TCP connection exists (made before the
tracer starts), waits for a line on stdin, performs every step below,
printing one line of facts per step, prints "done", waits for a line on
stdin, then closes everything and prints "closed".
"""
import ctypes
import os
import socket
import sys
import tempfile


def pair(lst):
    c = socket.socket(lst.family, socket.SOCK_STREAM)
    c.connect(lst.getsockname()[:2])
    s, _ = lst.accept()
    return c, s


def listener(backlog=1):
    """A TCP listener on 127.0.0.1, on a free port."""
    lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lst.bind(("127.0.0.1", 0))
    lst.listen(backlog)
    return lst


def loopback_pair():
    """A connected TCP (client, server) on 127.0.0.1, and their listener."""
    lst = listener()
    c, s = pair(lst)
    return c, s, lst


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        b = s.recv(n - len(buf))
        if not b:
            raise EOFError
        buf += b
    return buf


def say(*args):
    print(*args, flush=True)


class iovec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


class msghdr(ctypes.Structure):
    _fields_ = [
        ("msg_name", ctypes.c_void_p),
        ("msg_namelen", ctypes.c_uint32),
        ("msg_iov", ctypes.POINTER(iovec)),
        ("msg_iovlen", ctypes.c_size_t),
        ("msg_control", ctypes.c_void_p),
        ("msg_controllen", ctypes.c_size_t),
        ("msg_flags", ctypes.c_int),
    ]


class mmsghdr(ctypes.Structure):
    _fields_ = [("msg_hdr", msghdr), ("msg_len", ctypes.c_uint)]


def mmsgs(messages, keep):
    """messages: list of lists of bytes (iovecs)."""
    arr = (mmsghdr * len(messages))()
    for i, parts in enumerate(messages):
        bufs = [ctypes.create_string_buffer(p, len(p)) for p in parts]
        iov = (iovec * len(parts))()
        for j, (b, p) in enumerate(zip(bufs, parts)):
            iov[j].iov_base = ctypes.cast(b, ctypes.c_void_p)
            iov[j].iov_len = len(p)
        keep.append((bufs, iov))
        arr[i].msg_hdr.msg_iov = ctypes.cast(iov, ctypes.POINTER(iovec))
        arr[i].msg_hdr.msg_iovlen = len(parts)
    return arr


def main():
    libc = ctypes.CDLL(None, use_errno=True)
    lst = listener(16)
    ec, es = pair(lst)
    say("ready", ec.getsockname()[1], es.getsockname()[1])
    sys.stdin.readline()

    # Existing connection: plain write/read.
    os.write(ec.fileno(), b"existing hello")
    assert recv_exact(es, 14) == b"existing hello"

    c, s = pair(lst)
    say("pair", c.fileno(), s.fileno(), c.getsockname()[1], s.getsockname()[1])

    # writev / readv
    assert os.writev(c.fileno(), [b"ab", b"cd", b"ef"]) == 6
    a, b = bytearray(2), bytearray(4)
    assert os.readv(s.fileno(), [a, b]) == 6

    # sendmsg / recvmsg
    assert c.sendmsg([b"hello ", b"vectored ", b"world"]) == 20
    bufs = [bytearray(4), bytearray(100)]
    n = s.recvmsg_into(bufs)[0]
    assert n == 20, n

    # sendfile (no payload, only the byte count)
    with tempfile.TemporaryFile() as f:
        f.write(b"file-bytes" * 100)
        f.flush()
        assert os.sendfile(c.fileno(), f.fileno(), 0, 1000) == 1000
    recv_exact(s, 1000)

    # a big write (truncated when MaxChunkBytes is small)
    big = bytes(range(256)) * 40
    assert c.send(big) == len(big)
    recv_exact(s, len(big))

    # more iovecs than the BPF loop copies
    parts = [bytes([65 + i]) * 10 for i in range(20)]
    assert os.writev(c.fileno(), parts) == 200
    recv_exact(s, 200)

    # fd reuse: close the client, connect again (lowest free fd comes back)
    old = c.fileno()
    c.close()
    c2, s2 = pair(lst)
    say("reuse", old, c2.fileno(), c2.getsockname()[1])
    os.write(c2.fileno(), b"x")
    assert os.read(s2.fileno(), 1) == b"x"

    # UDP, connected both ways: sendmmsg / recvmmsg
    u1 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u1.bind(("127.0.0.1", 0))
    u2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u2.bind(("127.0.0.1", 0))
    u1.connect(u2.getsockname())
    u2.connect(u1.getsockname())
    keep = []
    out = mmsgs([[b"one", b"-1"], [b"two", b"-22"], [b"three", b"-333"]], keep)
    n = libc.sendmmsg(u1.fileno(), out, 3, 0)
    assert n == 3, ctypes.get_errno()
    rbufs = [[bytes(64)] for _ in range(3)]
    inn = mmsgs(rbufs, keep)
    n = libc.recvmmsg(u2.fileno(), inn, 3, 0, None)
    assert n == 3, ctypes.get_errno()
    got = [ctypes.string_at(keep[3 + i][1][0].iov_base, inn[i].msg_len) for i in range(3)]
    assert got == [b"one-1", b"two-22", b"three-333"], got
    say("udp", u1.fileno(), u1.getsockname()[1], u2.fileno(), u2.getsockname()[1])

    say("done")
    sys.stdin.readline()
    for x in (ec, es, s, c2, s2, u1, u2, lst):
        x.close()
    say("closed")
    sys.stdin.readline()


if __name__ == "__main__":
    main()
