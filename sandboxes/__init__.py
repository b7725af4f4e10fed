"""Loopback stand-ins for outside providers, for tests and the demo; product code never imports them."""
