"""The P4Runtime gRPC server of the software NIC; `server.start_server` is the entry point."""
