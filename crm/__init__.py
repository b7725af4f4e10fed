"""The CRM side of PayPlan: the port billing's events speak to (crm.port), the CRM-neutral outbox
(crm.outbox, crm.drain) and one adapter per CRM (crm.amocrm, crm.bitrix24)."""
