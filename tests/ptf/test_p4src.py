"""Properties of p4src/ that the suites and real BMv2 rely on, read from the compiled output:
byte-aligned headers, the controller headers, and the shared tables being the same on both
NICs — the stateful services table above all, so a flow moved from the VNIC to the PNIC is
written with the very same entry."""
import json
from pathlib import Path

import pytest

from p4nic.runtime.local_switch import LocalSwitchError, compile_p4
from p4nic.runtime.p4info import load_p4info

P4SRC = Path(__file__).resolve().parents[2] / "p4src"
SHARED_TABLES = ("services.flow_table", "steering.flow_affinity", "steering.rss_indirection",
                 "steering.vcpu_node", "steering.numa_queues", "marking.special_criteria",
                 "encap.tunnel")


@pytest.fixture(scope="module")
def programs(tmp_path_factory):
    out = tmp_path_factory.mktemp("p4src")
    compiled = {}
    for nic in ("vnic", "pnic"):
        try:
            json_path, p4info_path = compile_p4(P4SRC / f"{nic}.p4", out)
        except LocalSwitchError as exc:
            pytest.fail(f"`p4nic compile` cannot build p4src/{nic}.p4: {exc}")
        compiled[nic] = (json.loads(json_path.read_text()), load_p4info(p4info_path))
    return compiled


@pytest.mark.parametrize("nic", ["vnic", "pnic"])
def test_headers_are_whole_bytes(programs, nic):
    """BMv2 needs every header to be a whole number of bytes (docs/JSON_format.md)."""
    bmv2_json, _ = programs[nic]
    for header_type in bmv2_json["header_types"]:
        if header_type["name"].startswith("scalars") or header_type["name"] == "standard_metadata":
            continue
        bits = sum(field[1] for field in header_type["fields"])
        assert bits % 8 == 0, f"{nic}: header {header_type['name']} is {bits} bits"


@pytest.mark.parametrize("nic", ["vnic", "pnic"])
def test_controller_headers(programs, nic):
    _, p4info = programs[nic]
    fields = {m.preamble.name: [(f.name, f.bitwidth) for f in m.metadata]
              for m in p4info.controller_packet_metadata}
    assert fields == {
        "packet_in": [("ingress_port", 9), ("_pad", 7), ("reason", 8), ("vni", 24)],
        "packet_out": [("port", 9), ("_pad", 7), ("mode", 8), ("bypass", 8), ("ct_state", 8)],
    }


def shape(p4info, short_name):
    """A table's key and actions as a controller sees them, without the control's name."""
    table = next(t for t in p4info.tables if t.preamble.name.endswith("." + short_name))
    actions = {a.preamble.id: a for a in p4info.actions}
    return {
        "key": [(f.name, f.bitwidth, f.match_type) for f in table.match_fields],
        "actions": sorted((actions[r.id].preamble.alias,
                           tuple((p.name, p.bitwidth) for p in actions[r.id].params))
                          for r in table.action_refs),
        "annotations": list(table.preamble.annotations),
        "implementation": bool(table.implementation_id),
    }


@pytest.mark.parametrize("table", SHARED_TABLES)
def test_shared_tables_are_identical_on_both_nics(programs, table):
    assert shape(programs["vnic"][1], table) == shape(programs["pnic"][1], table)


def test_services_table_belongs_to_the_guest_role(programs):
    assert shape(programs["vnic"][1], "services.flow_table")["annotations"] == [
        '@p4runtime_role("guest")']
