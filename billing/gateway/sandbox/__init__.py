"""A loopback CloudPayments sandbox for tests, benchmarks and the demo (contract §6)."""
from billing.gateway.sandbox.server import SandboxServer

__all__ = ["SandboxServer"]
