"""p4nic: a P4 programmable-NIC toolkit (compiler, software NIC, pipelines, DSL)."""

__version__ = "0.1.0"
