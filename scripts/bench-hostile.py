#!/usr/bin/env python3
"""The attacks of issue #13 against `krkn-telemetry-api serve`, one after the other, with the
server's peak RSS (read from /proc every 10 ms) and the answers it gave. A guard kills the
server past 3 GiB. Usage: scripts/bench-hostile.py <server binary> <free port>
(`make bench-hostile` builds the server and picks the port). Loopback only."""
import base64, json, os, socket, subprocess, sys, tempfile, threading, time, urllib.request
BIN, PORT = sys.argv[1], int(sys.argv[2])
data = tempfile.mkdtemp(prefix="bench-hostile-")
env = dict(os.environ, KRKN_TELEMETRY_ADMIN_PASSWORD="admin-password-1", RUST_LOG="error")
p = subprocess.Popen([BIN,"serve","--listen",f"127.0.0.1:{PORT}","--data-dir",data], env=env)
def rss():
    for l in open(f"/proc/{p.pid}/status"):
        if l.startswith("VmRSS"): return int(l.split()[1])
peak=[0]; stop=[False]
def watch():
    while not stop[0]:
        try: peak[0]=max(peak[0],rss())
        except Exception: return
        if peak[0] > 3*1024*1024:
            print("  guard: RSS past 3 GiB, server killed", flush=True); p.kill(); return
        time.sleep(0.01)
time.sleep(1.5); threading.Thread(target=watch,daemon=True).start()
base=f"http://127.0.0.1:{PORT}"
def req(path, user, pw, data=None, ctype=None):
    r=urllib.request.Request(base+path, data=data, headers={"Authorization":"Basic "+base64.b64encode(f"{user}:{pw}".encode()).decode(), **({"Content-Type":ctype} if ctype else {})})
    try: return urllib.request.urlopen(r, timeout=60).status
    except urllib.error.HTTPError as e: return e.code
    except Exception as e: return str(type(e).__name__)
def attack(name, fn):
    peak[0]=rss(); t=time.time(); out=fn(); print(f"{name}: peak RSS {peak[0]/1024:.1f} MiB, {time.time()-t:.1f} s, {out}", flush=True)
def flood():
    from collections import Counter; c=Counter(); lock=threading.Lock()
    def go():
        for _ in range(8):
            s=req("/navigate","admin","wrong-password")
            with lock: c[s]+=1
    ts=[threading.Thread(target=go) for _ in range(256)]; [t.start() for t in ts]; [t.join() for t in ts]; return dict(c)
seed=json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../crates/model/tests/data/seed-sample.json")))
items=",".join(str(i) for i in range(3000)); yaml=f"a: &a [{items}]\nb: [{','.join(['*a']*3000)}]\n"
seed["scenarios"][0]["parameters_base64"]=base64.b64encode(yaml.encode()).decode()
body=json.dumps(seed).encode()
attack(f"alias bomb ({len(body)} B request)", lambda: req("/telemetry?request_id=1745343338-96348571-0b06-459e-b654-a1bb6fd66239&telemetry_group=default","admin","admin-password-1",body,"application/json"))
def stalled():
    socks=[]
    for _ in range(100):
        s=socket.create_connection(("127.0.0.1",PORT)); s.sendall(f"POST /telemetry?request_id=1-a&telemetry_group=default HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {10*1024*1024-1}\r\n\r\n".encode()+b" "*(1024*1024)); socks.append(s)
    codes=[]
    for s in socks:
        s.settimeout(10)
        try: codes.append(s.recv(64).split()[1].decode())
        except Exception as e: codes.append(type(e).__name__)
    return {c: codes.count(c) for c in set(codes)}
attack("100 anonymous 10 MiB-1 bodies that stall", stalled)
def headers():
    socks=[socket.create_connection(("127.0.0.1",PORT)) for _ in range(200)]
    for s in socks: s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    t=time.time(); closed=0
    for s in socks:
        s.settimeout(max(0.1, 70-(time.time()-t)))
        try:
            if s.recv(10) == b"": closed+=1
        except Exception: pass
    return f"{closed} of 200 closed by the server within {time.time()-t:.1f} s"
attack("200 connections with unfinished headers", headers)
attack("256 clients x 8 wrong passwords for admin", flood)
stop[0]=True; p.terminate(); p.wait(); subprocess.run(["rm", "-rf", data])
