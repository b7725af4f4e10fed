"""Command line: `python -m sandboxes.amocrm --host 127.0.0.1 --port 8102 --seed demo`."""

from __future__ import annotations

import argparse
import os
import threading

from .core import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REDIRECT_URI
from .server import CrmSandbox


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandboxes.amocrm", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    parser.add_argument("--port", type=int, default=8102)
    parser.add_argument("--seed", choices=["demo", "none"], default="demo")
    parser.add_argument("--client-id", default=os.environ.get("AMOCRM_CLIENT_ID", DEFAULT_CLIENT_ID))
    parser.add_argument("--client-secret",
                        default=os.environ.get("AMOCRM_CLIENT_SECRET", DEFAULT_CLIENT_SECRET))
    parser.add_argument("--redirect-uri", default=os.environ.get("AMOCRM_REDIRECT_URI", DEFAULT_REDIRECT_URI))
    parser.add_argument("--audience", default=os.environ.get("PAYPLAN_PUBLIC_ORIGIN"),
                        help="widget token aud (default: scheme://host of --redirect-uri)")
    parser.add_argument("--rate-limit-rps", type=int, default=7, help="0 turns the limiter off")
    parser.add_argument("--block-after", type=int, default=20, help="consecutive 429s before the 403 block")
    parser.add_argument("--revoke-hook-url", default=os.environ.get("AMOCRM_REVOKE_HOOK_URL"),
                        help="loopback URL called by POST /_sandbox/uninstall")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    options = parser.parse_args(argv)
    sandbox = CrmSandbox(options.client_id, options.client_secret, options.redirect_uri,
                         accounts=None if options.seed == "demo" else [],
                         rate_limit_rps=options.rate_limit_rps or None, block_after=options.block_after,
                         audience=options.audience, revoke_hook_url=options.revoke_hook_url)
    try:
        sandbox.start(options.host, options.port, verbose=options.verbose)
    except (ValueError, OSError) as error:
        parser.error(str(error))
    print(f"amoCRM sandbox on {sandbox.url} (client_id {sandbox.client_id}, seed {options.seed})", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()


if __name__ == "__main__":
    main()
