"""The ordering desk's operations, independent of HTTP: projects, requests and their
workflow, quotas, messages, areas of interest, products, and the Airbus connector."""
