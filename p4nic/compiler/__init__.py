"""P4-16 compiler for the v1model architecture: P4 source to BMv2 JSON and P4Info."""
