# One request from python, then exec curl for a second one, in the same
# process (TestExecRenamesProcess). Arguments: host port curl-path.
import os
import socket
import sys
import time

host, port, curl = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_connection((host, port))
s.sendall(b"GET /before HTTP/1.1\r\nHost: exec-test\r\nConnection: close\r\n\r\n")
while s.recv(65536):
    pass
s.close()
# Let the receiver read this process's /proc entry while it is python.
time.sleep(0.3)
os.execv(curl, ["curl", "-sS", "-o", "/dev/null", "http://%s:%d/after" % (host, port)])
