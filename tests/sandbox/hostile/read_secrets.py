# Reads /etc/shadow and lists /root and /home.  Expected: OK, nothing learnt.
import os
try:
    data = open("/etc/shadow").read()
    print("shadow bytes", len(data))
    print(data)
except OSError as e:
    print("shadow refused", e.errno)
for d in ("/root", "/home"):
    try:
        print(d, "lists", os.listdir(d))
    except OSError as e:
        print(d, "refused", e.errno)
