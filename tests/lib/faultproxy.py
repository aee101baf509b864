#!/usr/bin/env python3
"""faultproxy: a TCP proxy on loopback that injects faults, for the S3 tests.

Every connection accepted on --listen is relayed to --target. The first
--cuts connections that carry --cut-after bytes from the client are cut
exactly there (both sockets closed), as a 4G link drops; with --cut-dir
down the server-to-client bytes are counted for the cut instead. Bytes are counted
per direction; the totals are written as JSON to --stats after every
connection ends, so a test can prove how much was sent (e.g. that no
finished multipart part went twice). --port-file receives the port.
"""
import argparse
import json
import os
import socket
import threading

lock = threading.Lock()
stats = {"up": 0, "down": 0, "connections": 0, "cuts": 0}
cuts_left = 0


def write_stats(path):
    if not path:
        return
    # one writer at a time: both pumps of a connection finish together
    with lock:
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(json.dumps(stats))
        os.replace(tmp, path)


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
                    with lock:
                        stats[direction] += len(data)
                        stats["cuts"] += 1
                    conn_state[direction] += len(data)
                    conn_state["closed"] = True
                    break
            dst.sendall(data)
            conn_state[direction] += len(data)
            with lock:
                stats[direction] += len(data)
    except OSError:
        pass
    finally:
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
        # counted as soon as either side is done, not when both are
        write_stats(stats_path)


def handle(client, args):
    global cuts_left
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


def main():
    global cuts_left
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--listen", type=int, default=0)
    ap.add_argument("--target", required=True, help="HOST:PORT")
    ap.add_argument("--cut-after", type=int, default=0)
    ap.add_argument("--cuts", type=int, default=0)
    ap.add_argument("--cut-dir", choices=("up", "down"), default="up")
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
