"""`p4nic demo`: every NIC feature of p4nic shown for real on the embedded NIC (see run.py)."""
from p4nic.demo.run import main

__all__ = ["main"]
