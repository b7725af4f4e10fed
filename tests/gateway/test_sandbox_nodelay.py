"""The CloudPayments sandbox answers without Nagle's delay [I]: headers and body are two writes, and with
Nagle on a keep-alive client waited for the delayed ACK (~40 ms) on every call, so benchmarks of the
billing tick measured the sandbox instead of PayPlan."""
import socket

import requests

from sandboxes.cloudpayments.server import SandboxServer


def test_the_sandbox_sets_tcp_nodelay_on_every_connection():
    with SandboxServer({"pk_nodelay": ("secret", "key")}) as sandbox, requests.Session() as session:
        assert session.post(f"{sandbox.url}/test", json={}, auth=("pk_nodelay", "secret")).status_code == 200
        with sandbox._httpd.connections_lock:
            connections = list(sandbox._httpd.connections)
        assert connections
        assert all(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for conn in connections)
