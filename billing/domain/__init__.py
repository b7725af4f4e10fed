"""Pure-Python money rules of PayPlan: no Django, no I/O."""
