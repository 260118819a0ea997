"""Shell commands that act on a running switch: `p4nic send` / `p4nic sniff` (its packet
socket) and `p4nic tables` / `table-dump` / `counters` (its P4Runtime server)."""
