# Connects to a port on 127.0.0.1 given on stdin.  Expected: no connection.
import socket, sys
port = int(sys.stdin.read())
try:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(0.5)
    s.connect(("127.0.0.1", port))
    print("CONNECTED")
except OSError as e:
    print("refused", e.errno)
