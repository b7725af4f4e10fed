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


def test_the_sandbox_writes_headers_and_body_in_one_send(monkeypatch):
    """Even with Nagle on (a client that sets no TCP_NODELAY sees the same), an answer is one write: no
    second small segment waits for the delayed ACK."""
    import socketserver

    from sandboxes.cloudpayments import server

    writes: list[bytes] = []
    original = socketserver._SocketWriter.write

    def recording(self, data):
        writes.append(bytes(data))
        return original(self, data)

    monkeypatch.setattr(socketserver._SocketWriter, "write", recording)
    monkeypatch.setattr(server._Handler, "disable_nagle_algorithm", False)
    with SandboxServer({"pk_nodelay": ("secret", "key")}) as sandbox, requests.Session() as session:
        answer = session.post(f"{sandbox.url}/test", json={}, auth=("pk_nodelay", "secret"))
    assert answer.status_code == 200
    assert len(writes) == 1
    assert writes[0].startswith(b"HTTP/1.1 200")
    assert writes[0].endswith(answer.content)
