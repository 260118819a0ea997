"""Rules ordered by position keep the priorities they are installed with (p4nic/dsl/priorities.py):
editing a filters block on a running `p4nic switch` (vnic.p4) writes only what the edit
changed, and packets still meet the rules in the file's order."""
import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether

from apply_harness import fresh_pipeline, next_election, start_vnic
from p4nic import dsl
from p4nic.dsl.plan import ADD, DELETE, MODIFY
from p4nic.proto import p4runtime_pb2
from p4nic.runtime.connection import Connection
from p4nic.runtime.p4info import P4InfoNames
from p4nic.runtime.wire import PacketWire

GUEST_MAC = "02:00:00:00:0a:01"
UPLINK = 0


@pytest.fixture(scope="module")
def switch(tmp_path_factory):
    with start_vnic(tmp_path_factory.mktemp("vnic")) as running:
        yield running


@pytest.fixture
def nic(switch):
    fresh_pipeline(switch.grpc_addr)
    return switch


def load(tmp_path, address: str, rules: list):
    """A file whose filters block holds `rules` in this order, then `default -> queue 1`."""
    body = "\n".join(f"        {rule}" for rule in rules)
    path = tmp_path / "filters.nic"
    path.write_text(f"vnic vm1 {{\n    p4runtime {address}   device 0   election "
                    f"{next_election()[1]}\n    queues 4\n    filters {{\n{body}\n"
                    "        default -> queue 1\n    }\n}\n")
    return dsl.load(path)


def plan_counts(model, address: str) -> tuple:
    with Connection(address, arbitrate=False) as conn:
        the_plan = model.plan(conn)
    return the_plan.count(ADD), the_plan.count(MODIFY), the_plan.count(DELETE)


def apply(model, address: str) -> None:
    with Connection(address, election_id=next_election()) as conn:
        result = model.apply(conn)
    assert result.ok, result.render()
    with Connection(address, arbitrate=False) as conn:
        assert model.plan(conn).empty


def installed(switch) -> dict:
    """{(proto, dport): priority} of the filters the NIC holds."""
    names = P4InfoNames(switch.p4info_path)
    table = names.table("filters")
    fields = {f.id: f.name for f in table.match_fields}
    with Connection(switch.grpc_addr, arbitrate=False) as conn:
        entities = conn.read(p4runtime_pb2.Entity(table_entry=p4runtime_pb2.TableEntry(
            table_id=table.preamble.id)))
    found = {}
    for entity in entities:
        te = entity.table_entry
        match = {fields[fm.field_id]: fm for fm in te.match}
        proto, dport = (int.from_bytes(getattr(fm, fm.WhichOneof("field_match_type")).value,
                                       "big") for fm in (match["meta.proto"], match["meta.dport"]))
        found[proto, dport] = te.priority
    return found


def queue_of(wire: PacketWire, l4) -> int:
    wire.send(UPLINK, Ether(dst=GUEST_MAC) / IP(dst="10.0.0.5") / l4)
    got = wire.expect(timeout=10)
    assert got is not None, "the frame did not come out"
    return got[0]


RULES = ["tcp dport 80 -> queue 2", "udp dport 53 -> queue 3", "tcp dport 22 -> drop",
         "tcp dport 443 -> queue 4"]


def test_removing_a_rule_deletes_only_its_entry(nic, tmp_path):
    apply(load(tmp_path, nic.grpc_addr, RULES), nic.grpc_addr)
    before = installed(nic)
    edited = load(tmp_path, nic.grpc_addr, [RULES[0]] + RULES[2:])
    assert plan_counts(edited, nic.grpc_addr) == (0, 0, 1)
    apply(edited, nic.grpc_addr)
    after = installed(nic)
    assert after == {key: p for key, p in before.items() if key != (17, 53)}


def test_rules_added_at_the_top_and_the_end_are_single_inserts(nic, tmp_path):
    apply(load(tmp_path, nic.grpc_addr, RULES), nic.grpc_addr)
    before = installed(nic)
    rules = ["tcp dport 8080 -> queue 3"] + RULES + ["udp dport 123 -> queue 2"]
    edited = load(tmp_path, nic.grpc_addr, rules)
    assert plan_counts(edited, nic.grpc_addr) == (2, 0, 0)
    apply(edited, nic.grpc_addr)
    after = installed(nic)
    assert {key: after[key] for key in before} == before
    order = [after[6, 8080], after[6, 80], after[17, 53], after[6, 22], after[6, 443],
             after[17, 123]]
    assert order == sorted(order, reverse=True) and len(set(order)) == len(order)


def test_a_rule_put_back_where_it_was_takes_its_place_again(nic, tmp_path):
    apply(load(tmp_path, nic.grpc_addr, RULES), nic.grpc_addr)
    before = installed(nic)
    apply(load(tmp_path, nic.grpc_addr, [RULES[0]] + RULES[2:]), nic.grpc_addr)
    again = load(tmp_path, nic.grpc_addr, RULES)
    assert plan_counts(again, nic.grpc_addr) == (1, 0, 0)
    apply(again, nic.grpc_addr)
    assert installed(nic) == before


def test_no_room_between_two_rules_renumbers_the_block_in_the_files_order(nic, tmp_path):
    apply(load(tmp_path, nic.grpc_addr, RULES), nic.grpc_addr)
    rules = RULES[:1] + ["tcp dport 8080 -> queue 3"] + RULES[1:]
    apply(load(tmp_path, nic.grpc_addr, rules), nic.grpc_addr)
    after = installed(nic)
    order = [after[6, 80], after[6, 8080], after[17, 53], after[6, 22], after[6, 443]]
    assert order == sorted(order, reverse=True) and len(set(order)) == len(order)


def test_packets_meet_reordered_rules_in_the_files_order(nic, tmp_path):
    """Two overlapping rules swapped: one keeps its installed priority, the other moves past
    it, and a packet both match takes the one now first in the file."""
    specific, broad = "tcp dport 80 -> queue 2", "tcp -> queue 3"
    with PacketWire(nic.packet_socket) as wire:
        apply(load(tmp_path, nic.grpc_addr, [specific, broad]), nic.grpc_addr)
        assert queue_of(wire, TCP(dport=80)) == 2
        swapped = load(tmp_path, nic.grpc_addr, [broad, specific])
        adds, modifies, deletes = plan_counts(swapped, nic.grpc_addr)
        assert (adds, deletes) == (1, 1) and modifies == 0
        apply(swapped, nic.grpc_addr)
        assert queue_of(wire, TCP(dport=80)) == 3
        assert queue_of(wire, UDP(dport=80)) == 1
