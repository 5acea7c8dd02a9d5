"""A local shop API following docs/commerce-api.yaml, over the demo shop's database."""
