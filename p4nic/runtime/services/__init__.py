"""Stateful services in software: what a guest runs for a flow's first packets, and the
reference behaviour the VNIC and PNIC flow tables must reproduce once the flow is offloaded."""
