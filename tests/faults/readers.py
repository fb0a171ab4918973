"""Slow readers of a CSV export against money writes, measured: shared by tests/faults and bench/bench_outages.py."""

import json
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from tests.faults.harness import API, Server, Setup, disbursement, new_key

EXPORT = f"{API}/exports/agreements.csv"


@dataclass
class Readers:
    statuses: Counter[str] = field(default_factory=Counter)
    sockets: list[socket.socket] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)


def slow_reader(server: Server, readers: Readers, bytes_per_s: int) -> None:
    """An unauthenticated reader of the export at ``bytes_per_s``, with a small receive buffer, uncompressed."""
    connection = socket.socket()
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    connection.settimeout(30)
    connection.connect(("127.0.0.1", server.port))
    connection.sendall(f"GET {EXPORT} HTTP/1.1\r\nHost: x\r\nAccept-Encoding: identity\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = connection.recv(512)
        if not chunk:
            break
        head += chunk
    status = head.split(b" ", 2)[1].decode() if head.startswith(b"HTTP/1.1 ") else "no answer"
    if status == "503":
        headers, _, body = head.partition(b"\r\n\r\n")
        fields = dict(line.split(b":", 1) for line in headers.split(b"\r\n")[1:] if b":" in line)
        length = int(fields.get(b"content-length", b"0"))
        while len(body) < length and (chunk := connection.recv(4096)):
            body += chunk
        code = json.loads(body).get("code", "?") if body else "?"
        status = f"503 {code}{' +Retry-After' if b'retry-after' in (k.lower() for k in fields) else ''}"
    with readers.lock:
        readers.statuses[status] += 1
        readers.sockets.append(connection)
    if not status.startswith("200"):
        connection.close()
        return
    chunk_size = max(1, bytes_per_s // 10)
    while not readers.stop.is_set():
        try:
            if not connection.recv(chunk_size):
                with readers.lock:
                    readers.statuses["200 then closed early"] += 1
                break
        except OSError:
            break
        time.sleep(0.1)
    connection.close()


def start_readers(server: Server, count: int, bytes_per_s: int = 1024) -> tuple[Readers, list[threading.Thread]]:
    readers = Readers()
    threads = [threading.Thread(target=slow_reader, args=(server, readers, bytes_per_s)) for _ in range(count)]
    for thread in threads:
        thread.start()
    return readers, threads


def timed_writes(server: Server, setup: Setup, seconds: float, writers: int) -> tuple[Counter[str], list[float]]:
    """``writers`` clerks paying one after another for ``seconds``: statuses and latencies."""
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def clerk(name: str) -> None:
        with httpx.Client(base_url=server.base + API, timeout=60) as http:
            number = 0
            while time.monotonic() < stop_at:
                number += 1
                sent = time.monotonic()
                response = http.post(
                    f"/agreements/{setup.agreement_id}/disbursements",
                    json=disbursement(f"SP2D-{name}-{number}-{new_key()[:8]}"),
                    headers={**setup.finance, "Idempotency-Key": new_key()},
                )
                with lock:
                    statuses[str(response.status_code)] += 1
                    latencies.append(time.monotonic() - sent)

    threads = [threading.Thread(target=clerk, args=(f"R{n}",)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses, latencies
