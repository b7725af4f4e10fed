"""Payment gateway: the interface services use, the CloudPayments adapter and its loopback sandbox."""
