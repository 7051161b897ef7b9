"""An HTTP proxy on 127.0.0.1 that forwards to an MLflow server but answers some requests itself, before
forwarding (the server never sees those): by default a share of them with 429 or 503 (some with Retry-After).
`latency` (seconds) delays every answer, as a far server would; `max_in_flight` is the most requests it held at
once."""
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "host"}


class FaultProxy:
    def __init__(self, target_uri, fault_rate=0.1, seed=7, answer=None, latency=0.0):
        """answer(path) -> (status, headers, body) to answer a request without forwarding it, or None to forward."""
        self.target = target_uri.rstrip("/")
        self.answer = answer or self._random_fault
        self.fault_rate = fault_rate
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.requests = 0
        self.faults = 0
        self.latency = latency
        self.in_flight = self.max_in_flight = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def uri(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def _fault(self, path):
        fault = self.answer(path)
        with self.lock:
            self.requests += 1
            self.faults += fault is not None
        return fault

    def _random_fault(self, path):
        with self.lock:
            if self.random.random() >= self.fault_rate:
                return None
            status, retry_after = self.random.choice([(429, "1"), (503, "1"), (429, None), (503, None)])
        return status, {"Retry-After": retry_after} if retry_after else {}, b""

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _relay(self):
                with proxy.lock:
                    proxy.in_flight += 1
                    proxy.max_in_flight = max(proxy.max_in_flight, proxy.in_flight)
                try:
                    time.sleep(proxy.latency)
                    self._answer()
                finally:
                    with proxy.lock:
                        proxy.in_flight -= 1

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                fault = proxy._fault(self.path)
                if fault:
                    status, headers, content = fault
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(content)))
                    self.end_headers()
                    self.wfile.write(content)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
                try:
                    resp = requests.request(self.command, proxy.target + self.path, data=body, headers=headers,
                                            timeout=120)
                except requests.ConnectionError:  # the target is down: answer as a real gateway would
                    self.send_response(502)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(resp.status_code)
                for k, v in resp.headers.items():
                    if k.lower() not in HOP_HEADERS:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(resp.content)))
                self.end_headers()
                self.wfile.write(resp.content)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _relay

        return Handler
