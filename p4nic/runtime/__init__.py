"""P4Runtime client side: connections, entity writes, packet I/O, offload manager."""
