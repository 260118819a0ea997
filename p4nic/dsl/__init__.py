"""The pipeline DSL: `.nic` files describing VNICs and PNICs, compiled to P4Runtime entities.

    from p4nic import dsl
    model = dsl.load("examples/host.nic")      # raises dsl.DslError listing every error
    model.nics                                 # [model.NicTarget]
    model.entries()                            # {nic name: model.NicEntries}
    model.services("vm1")                      # runtime.services.policy.ServicePolicy
    model.host                                 # loader.Host: VNIC, PNIC and the VF between
    model.stage_chains("vm1")                  # per flow profile: flows and stage chain
    model.warnings                             # errors.Diagnostic, e.g. rules never reached

docs/dsl.md is the language reference; docs/internals.md maps the modules.
"""
from p4nic.dsl.errors import Diagnostic, DslError
from p4nic.dsl.loader import Host, Model, load

__all__ = ["load", "Model", "Host", "DslError", "Diagnostic"]
