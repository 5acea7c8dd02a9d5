"""The one decision point: routes.py decides where every message goes; customers.py acts for
the customer channels, staff.py for the staff desk. Neither imports a platform package."""
