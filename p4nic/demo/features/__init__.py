"""The patent features, each shown on the running NICs: program, send, compare.

Each feature script takes the DemoHost and a `Feature` to fill: it programs what it needs
through p4nic.runtime, sends scapy-built frames through the packet sockets and records every
step. run_feature restores the NICs afterwards, so every feature starts from empty tables.
"""
from __future__ import annotations

from p4nic.demo.checks import Feature
from p4nic.demo.features.offload import service_offload
from p4nic.demo.features.pnic import logical_network, special_flag
from p4nic.demo.features.vnic import numa_steering, programmable_pipeline, rx_filters

# in the order the demo shows them
FEATURES = (rx_filters, numa_steering, programmable_pipeline, special_flag, logical_network,
            service_offload)


def run_feature(host, show) -> Feature:
    """Run one feature; whatever happens, undo its changes on both NICs. An error (a P4Runtime
    refusal, a switch gone) ends the feature as failed, with the steps recorded so far."""
    feature = Feature(*show.about)
    host.feature = feature
    try:
        show(host, feature)
    except Exception as exc:
        feature.error = f"{type(exc).__name__}: {exc}"
    finally:
        try:
            for controller in [*host.extra_controllers]:
                host.detach(controller)
            for controller in host.controllers.values():
                controller.listening = True
                controller.restore()
        except Exception as exc:
            feature.error = feature.error or f"restoring the NICs failed: {exc}"
        host.feature = None
    return feature
