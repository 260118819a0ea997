"""p4c's STF packet tests (`.stf` files), run against the software NIC in-process."""
