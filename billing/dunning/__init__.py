"""Dunning: the collector that acts on time — overdue facts, the reminder ladder, client answers."""
