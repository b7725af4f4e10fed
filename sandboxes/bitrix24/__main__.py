"""python -m sandboxes.bitrix24 --port 8104 [--install-url http://127.0.0.1:8000/bitrix24/install/]"""
import argparse
import os
import threading
import time

from sandboxes.bitrix24 import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Bitrix24Sandbox


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandboxes.bitrix24", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    parser.add_argument("--port", type=int, default=8104)
    parser.add_argument("--client-id", default=os.environ.get("BITRIX24_CLIENT_ID", DEFAULT_CLIENT_ID))
    parser.add_argument("--client-secret", default=os.environ.get("BITRIX24_CLIENT_SECRET", DEFAULT_CLIENT_SECRET))
    parser.add_argument("--bucket-capacity", type=float, default=50.0, help="X of the leaky bucket")
    parser.add_argument("--bucket-drain", type=float, default=2.0, help="Y: requests drained per second")
    parser.add_argument("--install-url", help="install the app into the seeded portal at start (loopback URL)")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    options = parser.parse_args(argv)
    sandbox = Bitrix24Sandbox(client_id=options.client_id, client_secret=options.client_secret,
                              bucket_capacity=options.bucket_capacity, bucket_drain=options.bucket_drain)
    try:
        sandbox.start(options.host, options.port, verbose=options.verbose)
    except (ValueError, OSError) as error:
        parser.error(str(error))
    print(f"Bitrix24 sandbox on {sandbox.url} (oauth server {sandbox.oauth_url}, client_id {sandbox.client_id})",
          flush=True)
    if options.install_url:
        threading.Thread(target=_install_when_up, args=(sandbox, options.install_url), daemon=True).start()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()


def _install_when_up(sandbox: Bitrix24Sandbox, install_url: str, timeout: float = 120.0) -> None:
    """`make run` starts us beside the web server: install once it answers (an admin adding the app)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = sandbox.install(install_url=install_url)
        if answer["status"] == 200 or time.monotonic() > deadline:
            print(f"install into {install_url}: {answer['status']}", flush=True)
            return
        time.sleep(1.0)


if __name__ == "__main__":
    main()
