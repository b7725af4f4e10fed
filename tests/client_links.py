"""Client page links found in a text, read back to the deals they open.

A link is signed with the second it was minted, so a test never compares it with a link minted again:
it reads the token it finds and checks which deal it opens."""
import re

from billing.client_links import client_page_deal

CLIENT_PAGE_TOKEN = re.compile(r"/p/([A-Za-z0-9_\-:]+)")


def client_pages_linked(text: str) -> list[int]:
    """Ids of the deals whose client page the text links to (forged or revoked links are left out)."""
    deals = (client_page_deal(token) for token in CLIENT_PAGE_TOKEN.findall(text))
    return [deal.pk for deal in deals if deal is not None]
