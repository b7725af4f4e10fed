"""python -m sandboxes.messaging --port 8103 [--sms-api-id KEY] [--whatsapp-token T] [--telegram-token T]"""
import argparse
import contextlib
import logging

from sandboxes.messaging.server import MessagingSandbox


def main() -> None:
    parser = argparse.ArgumentParser(description="Loopback SMS.ru / WhatsApp Cloud API / Telegram Bot API")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8103)
    parser.add_argument("--sms-api-id")
    parser.add_argument("--whatsapp-token")
    parser.add_argument("--telegram-token")
    options = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    sandbox = MessagingSandbox(options.host, options.port, sms_api_id=options.sms_api_id,
                               whatsapp_token=options.whatsapp_token, telegram_token=options.telegram_token)
    print(f"messaging sandbox on {sandbox.url} (journal: {sandbox.url}/_sandbox/messages)", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        sandbox.serve_forever()


if __name__ == "__main__":
    main()
