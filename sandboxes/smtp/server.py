"""A loopback SMTP server that records what it receives: the mail sandbox for tests and the demo.

    python -m sandboxes.smtp --port 8125      # then EMAIL_HOST=127.0.0.1 EMAIL_PORT=8125 EMAIL_USE_TLS=0

It speaks just enough SMTP (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) for Django's SMTP backend,
keeps every message in memory, and only ever binds a loopback address.
"""
import argparse
import email
import email.policy
import ipaddress
import socketserver
import threading
from dataclasses import dataclass
from email.message import EmailMessage

MAX_MESSAGE_BYTES = 20_000_000


@dataclass(frozen=True)
class ReceivedMail:
    sender: str
    recipients: tuple[str, ...]
    message: EmailMessage


class _Session(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        self.reply("220 payplan-smtp-sink ready")
        sender, recipients = "", []
        while line := self.rfile.readline(65536):
            command = line.decode("utf-8", "replace").strip()
            verb = command[:4].upper()
            if verb == "EHLO":
                self.wfile.write(f"250-payplan-smtp-sink\r\n250-SIZE {MAX_MESSAGE_BYTES}\r\n250 8BITMIME\r\n".encode())
            elif verb == "HELO":
                self.reply("250 payplan-smtp-sink")
            elif verb == "MAIL":
                sender, recipients = _address(command), []
                self.reply("250 OK")
            elif verb == "RCPT":
                recipients.append(_address(command))
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                self._receive(sender, recipients)
                self.reply("250 OK: queued")
            elif verb == "RSET":
                sender, recipients = "", []
                self.reply("250 OK")
            elif verb == "NOOP":
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 Bye")
                return
            else:
                self.reply("502 Command not implemented")

    def _receive(self, sender: str, recipients: list[str]) -> None:
        lines, size = [], 0
        while (line := self.rfile.readline(65536)) not in (b".\r\n", b".\n", b""):
            size += len(line)
            if size <= MAX_MESSAGE_BYTES:
                lines.append(line[1:] if line.startswith(b"..") else line)  # undo dot-stuffing
        message = email.message_from_bytes(b"".join(lines), policy=email.policy.default)
        self.server.sink.record(ReceivedMail(sender, tuple(recipients), message))


def _address(command: str) -> str:
    return command.split(":", 1)[1].strip().split(" ")[0].strip("<>") if ":" in command else ""


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class SmtpSink:
    """Start with `with SmtpSink() as sink:`; `sink.port` to point Django at, `sink.messages` to read."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError("The SMTP sink only listens on a loopback address.")
        self.messages: list[ReceivedMail] = []
        self._lock = threading.Lock()
        self._server = _Server((host, port), _Session)
        self._server.sink = self
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="smtp-sink")

    def record(self, mail: ReceivedMail) -> None:
        with self._lock:
            self.messages.append(mail)
        print(f"smtp-sink: {mail.sender} → {', '.join(mail.recipients)}: {mail.message['Subject']}", flush=True)

    def start(self) -> "SmtpSink":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "SmtpSink":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8125)
    args = parser.parse_args()
    sink = SmtpSink(args.host, args.port)
    print(f"smtp-sink listening on {sink.host}:{sink.port}", flush=True)
    try:
        sink._server.serve_forever()
    except KeyboardInterrupt:
        sink.stop()


if __name__ == "__main__":
    main()
