"""python -m sandboxes.yookassa --port 8105 [--shop SHOP_ID:SECRET_KEY:NOTIFY_URL]
[--payout-gateway AGENT_ID:SECRET_KEY:NOTIFY_URL]"""
import argparse
import contextlib
import logging

from sandboxes.yookassa.server import YooKassaSandbox

DEMO_SHOP = "100500:test_sandbox_secret_key:http://127.0.0.1:8000/webhooks/yookassa/demo"


def parse_shop(value: str) -> tuple[str, tuple[str, str | None]]:
    shop_id, _, rest = value.partition(":")
    secret, _, url = rest.partition(":")
    if not (shop_id and secret):
        raise argparse.ArgumentTypeError("expected SHOP_ID:SECRET_KEY[:NOTIFY_URL]")
    return shop_id, (secret, url or None)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m sandboxes.yookassa", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8105)
    parser.add_argument("--shop", action="append", type=parse_shop, dest="shops",
                        help=f"SHOP_ID:SECRET_KEY:NOTIFY_URL, repeatable (default {DEMO_SHOP})")
    parser.add_argument("--payout-gateway", action="append", type=parse_shop, dest="payout_gateways",
                        help="AGENT_ID:SECRET_KEY:NOTIFY_URL of a payout gateway (/v3/payouts), repeatable")
    parser.add_argument("--notify-attempts", type=int, default=5)
    parser.add_argument("--public-url", default=None)
    options = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    shops = dict(options.shops or [parse_shop(DEMO_SHOP)])
    sandbox = YooKassaSandbox(shops, options.host, options.port, notify_attempts=options.notify_attempts,
                              notify_retry_seconds=1.0, public_url=options.public_url,
                              payout_gateways=dict(options.payout_gateways or []))
    print(f"YooKassa sandbox on {sandbox.api_url} for shops {', '.join(shops)} "
          f"(journal: {sandbox.url}/_sandbox/journal)", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        sandbox.serve_forever()


if __name__ == "__main__":
    main()
