"""Rasa assistant: domain, channel credentials, routing table and custom NLU components."""
