"""A real SMTP server on loopback for Närvaro's tests (aiosmtpd).

Accepts mail and writes each message to DIR/<n>.eml; refuses recipients whose address
contains "reject" with 550 (a permanent failure). Prints "ready" when it listens.

    python tests/smtp_server.py --port 2525 --dir /tmp/mail
"""
import argparse
import os
import signal
import threading
import time

from aiosmtpd.controller import Controller


class Handler:
    def __init__(self, outdir):
        self.outdir = outdir
        self.lock = threading.Lock()
        self.n = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if "reject" in address:
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.n += 1
            n = self.n
        path = os.path.join(self.outdir, "%d-%06d.eml" % (time.time_ns(), n))
        data = envelope.original_content or envelope.content
        with open(path + ".tmp", "wb") as f:
            f.write(b"X-Envelope-To: " + ", ".join(envelope.rcpt_tos).encode() + b"\r\n")
            f.write(data if isinstance(data, bytes) else data.encode())
        os.rename(path + ".tmp", path)
        return "250 Message accepted"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True)
    a = p.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    controller = Controller(Handler(a.dir), hostname="127.0.0.1", port=a.port)
    controller.start()
    print("ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
