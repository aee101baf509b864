#!/usr/bin/env python3
"""faultproxy: a TCP proxy on loopback that injects faults, for the S3 tests.

Every connection accepted on --listen is relayed to --target. The first
--cuts connections that carry --cut-after bytes from the client are cut
exactly there (both sockets closed), as a 4G link drops; with --cut-dir
down the server-to-client bytes are counted for the cut instead.

With --fail or --stall the proxy reads the client's HTTP/1.1 requests one
by one (Content-Length bodies, no pipelining: what libcurl sends) and
numbers the PUT requests it sees, retries included, from 1:
  --fail 2:503,5:500   answers PUT number 2 with "503 Slow Down" and PUT
                       number 5 with "500 Internal Error" itself: the body
                       is read and dropped, never forwarded, and the
                       connection is closed after the answer
  --stall 4            forwards half of PUT number 4's body, then stops
                       reading for --stall-seconds (a link gone quiet),
                       then closes both sockets
  --blackout-after METHOD:TEXT
                       forwards the first request of METHOD whose request
                       line holds TEXT, and lets its answer through; then
                       the link is down: the connection is closed at the
                       client's next request, and every new one at once
Every PUT forwarded whole is counted under its path and query in
"puts", so a test can show that no object or part went through twice.
(--cuts applies to the plain relay, without --fail or --stall.)

Bytes are counted per direction ("up" is what reached the server), and
"up_by_second" holds the upstream bytes of each whole second since the
first, so a test can see a rate cap without timing anything. The totals
are written as JSON to --stats whenever a connection or request ends.
--port-file receives the port.
"""
import argparse
import json
import os
import socket
import threading
import time

lock = threading.Lock()
stats = {"up": 0, "down": 0, "connections": 0, "cuts": 0, "errors": 0, "stalls": 0,
         "dropped": 0, "puts": {}, "up_by_second": [], "blackout": False}
cuts_left = 0
put_count = 0
t_first = None

REASONS = {500: "Internal Error", 502: "Bad Gateway", 503: "Slow Down", 504: "Gateway Timeout"}


def write_stats(path):
    if not path:
        return
    # one writer at a time: both pumps of a connection finish together
    with lock:
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(json.dumps(stats))
        os.replace(tmp, path)


def count(direction, n):
    """Adds n bytes to a direction's total (and, upstream, to its second)."""
    global t_first
    if n <= 0:
        return
    with lock:
        stats[direction] += n
        if direction == "up":
            now = time.monotonic()
            if t_first is None:
                t_first = now
            sec = int(now - t_first)
            by = stats["up_by_second"]
            while len(by) <= sec:
                by.append(0)
            by[sec] += n


def pump(src, dst, direction, conn_state, cut_after, stats_path):
    """Copies src to dst, counting; the upstream direction may be cut."""
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if conn_state["cut"] == direction:
                room = cut_after - conn_state[direction]
                if len(data) >= room:
                    data = data[:max(room, 0)]
                    if data:
                        dst.sendall(data)
                    count(direction, len(data))
                    with lock:
                        stats["cuts"] += 1
                    conn_state[direction] += len(data)
                    conn_state["closed"] = True
                    break
            dst.sendall(data)
            conn_state[direction] += len(data)
            count(direction, len(data))
    except OSError:
        pass
    finally:
        close_pair(src, dst, conn_state)
        # counted as soon as either side is done, not when both are
        write_stats(stats_path)


def close_pair(src, dst, conn_state):
    if conn_state.get("closed"):
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
    else:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


class Closed(Exception):
    pass


def recv_more(sock, buf):
    data = sock.recv(65536)
    if not data:
        raise Closed()
    return buf + data


def relay_requests(client, upstream, conn_state, args):
    """The upstream pump when faults are per request: parses each request,
    answers or stalls the chosen PUTs, forwards the rest."""
    global put_count
    buf = b""
    try:
        while True:
            while b"\r\n\r\n" not in buf:
                buf = recv_more(client, buf)
            head, _, buf = buf.partition(b"\r\n\r\n")
            head += b"\r\n\r\n"
            lines = head.split(b"\r\n")
            method, target = lines[0].split(b" ")[:2]
            if stats["blackout"]:
                conn_state["closed"] = True
                return
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            fault = stall = None
            if method == b"PUT":
                with lock:
                    put_count += 1
                    n = put_count
                fault = args.fail.get(n)
                stall = n == args.stall
            if fault:
                # read the whole body so the client hears the answer
                while len(buf) < length:
                    buf = recv_more(client, buf)
                buf = buf[length:]
                body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>%s</Code>"
                        "<Message>injected by faultproxy</Message></Error>" %
                        ("SlowDown" if fault == 503 else "InternalError")).encode()
                client.sendall(b"HTTP/1.1 %d %s\r\nContent-Type: application/xml\r\n"
                               b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" %
                               (fault, REASONS.get(fault, "Error").encode(), len(body), body))
                with lock:
                    stats["errors"] += 1
                    stats["dropped"] += len(head) + length
                conn_state["closed"] = True
                return
            upstream.sendall(head)
            count("up", len(head))
            sent = 0
            while sent < length:
                if not buf:
                    buf = recv_more(client, buf)
                chunk = buf[:length - sent]
                if stall and sent + len(chunk) >= length // 2:
                    chunk = chunk[:length // 2 - sent]
                    upstream.sendall(chunk)
                    count("up", len(chunk))
                    with lock:
                        stats["stalls"] += 1
                    write_stats(args.stats)
                    # quiet: nothing read, nothing forwarded, then gone
                    time.sleep(args.stall_seconds)
                    conn_state["closed"] = True
                    return
                upstream.sendall(chunk)
                count("up", len(chunk))
                sent += len(chunk)
                buf = buf[len(chunk):]
            if method == b"PUT":
                key = target.decode("latin-1")
                with lock:
                    stats["puts"][key] = stats["puts"].get(key, 0) + 1
            if args.blackout_after:
                bm, _, bt = args.blackout_after.partition(":")
                if method.decode() == bm and bt.encode() in target:
                    # its answer comes back through the other pump
                    with lock:
                        stats["blackout"] = True
            write_stats(args.stats)
    except (OSError, Closed, ValueError):
        pass
    finally:
        close_pair(client, upstream, conn_state)
        write_stats(args.stats)


def handle(client, args):
    global cuts_left
    if stats["blackout"]:
        client.close()
        return
    try:
        upstream = socket.create_connection((args.host, args.port))
    except OSError:
        client.close()
        return
    with lock:
        stats["connections"] += 1
        cut = cuts_left > 0 and args.cut_after > 0
        if cut:
            cuts_left -= 1
    state = {"up": 0, "down": 0, "cut": args.cut_dir if cut else None}
    if args.fail or args.stall or args.blackout_after:
        t1 = threading.Thread(target=relay_requests, args=(client, upstream, state, args))
    else:
        t1 = threading.Thread(target=pump, args=(client, upstream, "up", state, args.cut_after, args.stats))
    t2 = threading.Thread(target=pump, args=(upstream, client, "down", state, args.cut_after, args.stats))
    t1.start()
    t2.start()
    t1.join()
    t2.join()
    if cut and not state.get("closed"):
        # the connection ended before reaching the cut: the cut is still owed
        with lock:
            cuts_left += 1
    client.close()
    upstream.close()
    write_stats(args.stats)


def parse_fail(s):
    """"2:503,5:500" -> {2: 503, 5: 500}"""
    out = {}
    for item in filter(None, (s or "").split(",")):
        n, _, status = item.partition(":")
        out[int(n)] = int(status or 503)
    return out


def main():
    global cuts_left
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listen", type=int, default=0)
    ap.add_argument("--target", required=True, help="HOST:PORT")
    ap.add_argument("--cut-after", type=int, default=0)
    ap.add_argument("--cuts", type=int, default=0)
    ap.add_argument("--cut-dir", choices=("up", "down"), default="up")
    ap.add_argument("--fail", type=parse_fail, default={}, help="N:STATUS,... for PUT number N")
    ap.add_argument("--stall", type=int, default=0, help="stall PUT number N mid-body")
    ap.add_argument("--stall-seconds", type=float, default=5.0)
    ap.add_argument("--blackout-after", help="METHOD:TEXT: the link goes down after that request")
    ap.add_argument("--stats")
    ap.add_argument("--port-file")
    args = ap.parse_args()
    args.host, port = args.target.rsplit(":", 1)
    args.port = int(port)
    cuts_left = args.cuts
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", args.listen))
    srv.listen(64)
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(str(srv.getsockname()[1]))
        os.replace(args.port_file + ".tmp", args.port_file)
    write_stats(args.stats)
    while True:
        c, _ = srv.accept()
        threading.Thread(target=handle, args=(c, args), daemon=True).start()


if __name__ == "__main__":
    main()
