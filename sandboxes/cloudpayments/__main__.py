"""Command line: run the CloudPayments sandbox until interrupted."""
import argparse
import logging
import threading
from collections.abc import Sequence

from sandboxes.cloudpayments.server import SandboxServer

DEMO_ACCOUNT = "test_api_00000000000000000000001:sandbox_api_secret:demo"


def parse_account(value: str) -> tuple[str, tuple[str, str]]:
    """PUBLIC_ID:API_SECRET:ACCOUNT_KEY -> (public_id, (api_secret, account_key))."""
    public_id, _, rest = value.partition(":")
    secret, _, key = rest.rpartition(":")  # a secret may itself hold a colon
    if not (public_id and secret and key):
        raise argparse.ArgumentTypeError("expected PUBLIC_ID:API_SECRET:ACCOUNT_KEY")
    return public_id, (secret, key)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sandboxes.cloudpayments", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8101)
    parser.add_argument("--notify-url-template", default=None,
                        help="e.g. http://127.0.0.1:8000/webhooks/cloudpayments/{account_key}/{kind}")
    parser.add_argument("--account", action="append", type=parse_account, dest="accounts",
                        help=f"PUBLIC_ID:API_SECRET:ACCOUNT_KEY, repeatable (default {DEMO_ACCOUNT})")
    parser.add_argument("--request-ttl", type=int, default=3600, help="X-Request-ID memory, seconds")
    parser.add_argument("--notify-timeout", type=int, default=30, help="seconds to wait for an answer")
    parser.add_argument("--notify-time-factor", default="0.05",
                        help="sandbox seconds per minute of the real retry schedule 1,2,5,10,30 min")
    parser.add_argument("--notify-attempts", type=int, default=5)
    parser.add_argument("--public-url", default=None, help="address in order Urls, if not http://host:port")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    accounts = dict(args.accounts or [parse_account(DEMO_ACCOUNT)])
    sandbox = SandboxServer(accounts, args.host, args.port, args.notify_url_template,
                            request_ttl=args.request_ttl, notify_timeout=args.notify_timeout,
                            notify_time_factor=args.notify_time_factor, notify_attempts=args.notify_attempts,
                            public_url=args.public_url)
    sandbox.start()
    print(f"CloudPayments sandbox on {sandbox.url} for {', '.join(accounts)}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()


if __name__ == "__main__":
    main()
