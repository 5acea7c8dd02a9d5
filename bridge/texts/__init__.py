"""What the bridge itself says, one module per audience: customers and staff."""
