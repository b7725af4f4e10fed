"""The Bitrix24 adapter: a portal's installation, OAuth tokens, the REST client and what billing asks of a CRM."""
