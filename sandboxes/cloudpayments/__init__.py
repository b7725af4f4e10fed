"""A loopback CloudPayments sandbox for tests, benchmarks and the demo (contract §6)."""
from sandboxes.cloudpayments.server import SandboxServer

__all__ = ["SandboxServer"]
