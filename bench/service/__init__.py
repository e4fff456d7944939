"""HTTP load benchmark of the Shuwei service (``python -m bench.service``)."""
