"""Command line: run the SMTP sink until interrupted."""
from sandboxes.smtp.server import main

main()
