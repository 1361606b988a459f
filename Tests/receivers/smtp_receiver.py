#!/usr/bin/python3
"""A local SMTP receiver for Stratus email tests. Needs aiosmtpd: run it with Debian's
/usr/bin/python3 (package python3-aiosmtpd), not pyenv's python3.

CLI
    /usr/bin/python3 smtp_receiver.py --out FILE [--port 0] [--mode plain|starttls|smtps]
                                      [--cert C --key K] [--user U --password P]
                                      [--rcpt-code 250] [--data-code 250]

    --out FILE        append one JSON line per accepted DATA (fsync'ed before the reply).
    --port P          listen on 127.0.0.1:P; 0 (default) picks a free port.
    --mode            plain: no TLS offered; starttls: STARTTLS offered and required before MAIL;
                      smtps: TLS from the first byte (implicit TLS). starttls/smtps need --cert/--key
                      (e.g. `openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1
                      -keyout key.pem -out cert.pem`).
    --user/--password AUTH (PLAIN and LOGIN) is offered and required; only this pair is accepted
                      (535 otherwise). AUTH is allowed without TLS in plain mode.
    --rcpt-code N     answer every RCPT TO with N (default 250 = accept; e.g. 550 or 450 to refuse).
    --data-code N     answer the end of DATA with N (default 250; e.g. 554 or 451).

Once listening it prints `listening <port>` on stdout (flushed). Stop it with SIGTERM (unblocked at start, even if the parent blocked it) or SIGKILL.

Each line of --out:
    {"seq": 1, "mail_from": "a@x", "rcpt_tos": ["b@y", "c@z"], "data": "<raw message, utf-8>",
     "tls": true/false, "auth_user": "u" or null, "peer": "127.0.0.1"}
"""
import argparse
import asyncio
import json
import os
import signal
import ssl
import threading

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

REASONS = {250: "2.0.0 OK", 450: "4.2.0 mailbox busy, try later", 451: "4.3.0 local error, try later",
           550: "5.1.1 mailbox unavailable", 552: "5.3.4 message too big", 554: "5.7.1 rejected"}


def reset_signals() -> None:
    """A parent may have spawned us with SIGTERM/SIGINT blocked (threads of a test runner often
    block signals, and the mask is inherited): unblock them so SIGTERM stops the receiver."""
    sigs = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
    signal.pthread_sigmask(signal.SIG_UNBLOCK, sigs)
    for s in sigs:
        signal.signal(s, signal.SIG_DFL)


def main() -> None:
    reset_signals()
    p = argparse.ArgumentParser(description="Stratus test SMTP receiver")
    p.add_argument("--out", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--mode", choices=["plain", "starttls", "smtps"], default="plain")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--rcpt-code", type=int, default=250)
    p.add_argument("--data-code", type=int, default=250)
    args = p.parse_args()

    ctx = None
    if args.mode != "plain":
        if not (args.cert and args.key):
            p.error("--mode starttls/smtps needs --cert and --key")
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.cert, args.key)

    out = open(args.out, "a", encoding="utf-8")
    lock = threading.Lock()
    state = {"seq": 0}

    def reply(code: int) -> str:
        return f"{code} {REASONS.get(code, 'test reply')}"

    class Handler:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if args.rcpt_code != 250:
                return reply(args.rcpt_code)
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            if args.data_code != 250:
                return reply(args.data_code)
            data = envelope.original_content or envelope.content or b""
            if isinstance(data, bytes):
                data = data.decode("utf-8", errors="replace")
            auth = session.auth_data if session.authenticated else None
            user = auth.login.decode() if isinstance(auth, LoginPassword) else None
            with lock:
                state["seq"] += 1
                rec = {"seq": state["seq"], "mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos),
                       "data": data, "tls": session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None, "auth_user": user,
                       "peer": session.peer[0] if session.peer else None}
                out.write(json.dumps(rec, ensure_ascii=False) + "\n")
                out.flush()
                os.fsync(out.fileno())
            return "250 2.0.0 Message accepted for delivery"

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and args.user is not None
              and auth_data.login.decode() == args.user and auth_data.password.decode() == (args.password or ""))
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    def factory():
        kw = dict(hostname="stratus-test-smtp", decode_data=False)
        if args.user is not None:
            kw.update(authenticator=authenticator, auth_required=True, auth_require_tls=False)
        if args.mode == "starttls":
            kw.update(tls_context=ctx, require_starttls=True)
        return SMTP(Handler(), **kw)

    async def run():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(factory, "127.0.0.1", args.port,
                                          ssl=ctx if args.mode == "smtps" else None)
        print(f"listening {server.sockets[0].getsockname()[1]}", flush=True)
        await server.serve_forever()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
