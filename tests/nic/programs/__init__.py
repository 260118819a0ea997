"""BMv2 JSON test programs for the software NIC pipeline, built in Python (see v1model.py)."""
