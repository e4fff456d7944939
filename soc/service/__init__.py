"""The Shuwei HTTP service: one authenticated FastAPI app over classifier, crypto and SOC."""
