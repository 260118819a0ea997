"""BMv2-compatible software NIC target: runs BMv2 JSON, serves P4Runtime, speaks BMv2 packet protocols."""
