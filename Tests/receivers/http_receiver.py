#!/usr/bin/env python3
"""A local HTTP receiver for Stratus notification tests (stdlib only, any python3 >= 3.8).

CLI
    python3 http_receiver.py --out FILE [--port 0] [--secret S] [--dingtalk-secret S]
                             [--status 200] [--fail-first N] [--fail-status 503]
                             [--dingtalk] [--errcode 0] [--body TEXT] [--delay-ms 0]

    --out FILE            append one JSON line per request to FILE (created if missing; flushed
                          and fsync'ed before the reply is sent, so a reply means "recorded").
    --port P              listen on 127.0.0.1:P; 0 (default) picks a free port.
    --secret S            verify `X-Stratus-Signature: sha256=<hex HMAC-SHA256(S, body)>` -> hmac_ok.
    --dingtalk-secret S   verify DingTalk signing: query `timestamp` (ms) and `sign`, where
                          sign = urlencode(base64(HmacSHA256(S, timestamp + "\\n" + S))) -> dingtalk_sign_ok.
    --status N            HTTP status of the reply (default 200).
    --fail-first N        answer the first N requests with --fail-status (default 503), then --status.
    --dingtalk            reply with DingTalk's JSON `{"errcode": <--errcode>, "errmsg": ...}`.
    --errcode N           the errcode of DingTalk-style replies (default 0; implies --dingtalk).
    --body TEXT           reply body (default `ok`, or the DingTalk JSON).
    --delay-ms N          wait N ms before replying (after recording).

Once listening it prints `listening <port>` on stdout (flushed). Stop it with SIGTERM (unblocked at start, even if the parent blocked it) or SIGKILL.

Each line of --out is a JSON object:
    {"seq": 1, "method": "POST", "path": "/hook?x=1", "query": {"x": "1"},
     "headers": {"Content-Type": "...", ...},          # names as sent
     "body": "<utf-8 text>", "json": <parsed body or null>,
     "idempotency_key": <X-Idempotency-Key header, or body IDEMPOTENCY_KEY, or null>,
     "basic_auth": ["user", "pass"] or null,
     "hmac_ok": true/false, or null when --secret is not given,
     "dingtalk_sign_ok": true/false, or null when --dingtalk-secret is not given,
     "replied": <status code>}
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def dingtalk_sign(secret: str, timestamp: str) -> str:
    """base64(HmacSHA256(secret, timestamp + "\\n" + secret)), before URL-encoding."""
    mac = hmac.new(secret.encode(), (timestamp + "\n" + secret).encode(), hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def reset_signals() -> None:
    """A parent may have spawned us with SIGTERM/SIGINT blocked (threads of a test runner often
    block signals, and the mask is inherited): unblock them so SIGTERM stops the receiver."""
    sigs = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
    signal.pthread_sigmask(signal.SIG_UNBLOCK, sigs)
    for s in sigs:
        signal.signal(s, signal.SIG_DFL)


def main() -> None:
    reset_signals()
    p = argparse.ArgumentParser(description="Stratus test HTTP receiver")
    p.add_argument("--out", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--secret")
    p.add_argument("--dingtalk-secret")
    p.add_argument("--status", type=int, default=200)
    p.add_argument("--fail-first", type=int, default=0)
    p.add_argument("--fail-status", type=int, default=503)
    p.add_argument("--dingtalk", action="store_true")
    p.add_argument("--errcode", type=int)
    p.add_argument("--body")
    p.add_argument("--delay-ms", type=int, default=0)
    args = p.parse_args()
    if args.errcode is not None:
        args.dingtalk = True

    lock = threading.Lock()
    state = {"seq": 0}
    out = open(args.out, "a", encoding="utf-8")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):  # keep stderr quiet
            pass

        def handle_any(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length > 0 else b""
            body = raw.decode("utf-8", errors="replace")
            parsed = urllib.parse.urlsplit(self.path)
            query = {k: v[0] for k, v in urllib.parse.parse_qs(parsed.query, keep_blank_values=True).items()}
            try:
                doc = json.loads(body) if body else None
            except ValueError:
                doc = None

            hmac_ok = None
            if args.secret is not None:
                sig = self.headers.get("X-Stratus-Signature") or ""
                want = "sha256=" + hmac.new(args.secret.encode(), raw, hashlib.sha256).hexdigest()
                hmac_ok = hmac.compare_digest(sig, want)

            sign_ok = None
            if args.dingtalk_secret is not None:
                ts, sign = query.get("timestamp"), query.get("sign")
                # parse_qs already URL-decoded `sign` once, as DingTalk's server does.
                sign_ok = bool(ts and sign) and hmac.compare_digest(sign, dingtalk_sign(args.dingtalk_secret, ts))

            basic = None
            auth = self.headers.get("Authorization") or ""
            if auth.startswith("Basic "):
                try:
                    user, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
                    basic = [user, pw]
                except Exception:
                    basic = ["<undecodable>", ""]

            key = self.headers.get("X-Idempotency-Key")
            if key is None and isinstance(doc, dict):
                key = doc.get("IDEMPOTENCY_KEY")

            with lock:
                state["seq"] += 1
                seq = state["seq"]
                status = args.fail_status if seq <= args.fail_first else args.status
                rec = {"seq": seq, "method": self.command, "path": self.path, "query": query,
                       "headers": {k: v for k, v in self.headers.items()}, "body": body, "json": doc,
                       "idempotency_key": key, "basic_auth": basic, "hmac_ok": hmac_ok,
                       "dingtalk_sign_ok": sign_ok, "replied": status}
                out.write(json.dumps(rec, ensure_ascii=False) + "\n")
                out.flush()
                os.fsync(out.fileno())

            if args.delay_ms > 0:
                time.sleep(args.delay_ms / 1000.0)
            if args.body is not None:
                reply, ctype = args.body.encode(), "text/plain; charset=utf-8"
            elif args.dingtalk:
                code = args.errcode or 0
                reply = json.dumps({"errcode": code, "errmsg": "ok" if code == 0 else "test error"}).encode()
                ctype = "application/json"
            else:
                reply, ctype = b"ok", "text/plain; charset=utf-8"
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        do_POST = handle_any
        do_PUT = handle_any
        do_GET = handle_any

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(f"listening {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
