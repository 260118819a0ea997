"""Describer: P4Runtime entities as a person reads them, by P4Info names and familiar values."""
import pytest
from p4nic.proto import p4runtime_pb2

from p4nic import pipelines
from p4nic.runtime.describe import Describer, format_value
from p4nic.runtime.entities import EntityBuilder, as_entity


@pytest.fixture(scope="module")
def p4():
    return EntityBuilder(pipelines.compiled("vnic").p4info)


@pytest.fixture(scope="module")
def describer(p4):
    return Describer(p4.names)


@pytest.mark.parametrize("value, width, name, shown", [
    (b"\x00\x11\x22\x33\x44\x55", 48, "hdr.eth.dstAddr", "00:11:22:33:44:55"),
    (b"\x0a\x00\x00\x05", 128, "meta.dst_addr", "10.0.0.5"),      # IPv4 kept in 128 bits
    (bytes.fromhex("20010db8000000000000000000000001"), 128, "meta.src_addr", "2001:db8::1"),
    (b"\xc0\x00\x02\x01", 32, "sip", "192.0.2.1"),
    (b"\x50", 16, "meta.dport", "80"),
    (b"\x13\x89", 24, "vni", "5001"),
    (b"\x01\x00\x00", 24, "vni", "0x10000"),
    (b"\x08", 8, "meta.ip_ver", "8"),                              # "ip" in a narrow field
])
def test_values_read_as_written(value, width, name, shown):
    assert format_value(value, width, name) == shown


def test_table_entries_by_name(p4, describer):
    entry = as_entity(p4.table_entry(
        "filters", {"dstAddr": ("01:00:5e:00:00:00", "ff:ff:ff:80:00:00"), "ip_ver": 4,
                    "dst_addr": ("10.0.0.0", 0xFFFFFF00), "dport": 80},
        "filter_to_queue", {"queue": 3}, priority=10))
    assert describer.describe(entry) == (
        "VnicIngress.filters  hdr.eth.dstAddr=01:00:5e:00:00:00&&&ff:ff:ff:80:00:00 "
        "meta.ip_ver=4 meta.dst_addr=10.0.0.0&&&255.255.255.0 meta.dport=80  priority 10 "
        "-> VnicIngress.filter_to_queue(queue=3)")
    tunnel = as_entity(p4.table_entry(
        "encap.tunnel", {"vni": 5001, "dstAddr": "02:00:00:00:00:02"}, "encap_vxlan",
        {"vni": 5001, "smac": 1, "dmac": 2, "sip": "192.0.2.1", "dip": "192.0.2.2"}))
    assert describer.action(tunnel) == (
        "VnicIngress.encap.encap_vxlan(vni=5001, smac=00:00:00:00:00:01, "
        "dmac=00:00:00:00:00:02, sip=192.0.2.1, dip=192.0.2.2)")
    everything = as_entity(p4.table_entry("acl", {}, "acl_deny", priority=1))
    assert describer.key(everything) == "VnicIngress.acl  (matches everything)  priority 1"
    assert describer.describe(as_entity(p4.table_entry("rx_default", default=True))) == \
        "VnicIngress.rx_default  default entry -> the program's default action"
    indirect = as_entity(p4.table_entry("numa_queues", {"numa_node": 1}, group_id=2))
    assert describer.action(indirect) == "group 2"


def test_profiles_and_replication(p4, describer):
    member = as_entity(p4.action_profile_member("node_queue_selector", 4, "set_queue",
                                                {"port": 3}))
    assert describer.describe(member) == ("VnicIngress.steering.node_queue_selector member 4 "
                                          "-> VnicIngress.steering.set_queue(port=3)")
    group = as_entity(p4.action_profile_group("node_queue_selector", 1, [4, (5, 3)]))
    assert describer.action(group) == "members 4, 5x3"
    flood = as_entity(p4.multicast_group(7, [1, (2, 1)]))
    assert describer.describe(flood) == "multicast group 7 -> replicas port 1, port 2/1"


def test_ids_the_p4info_does_not_know(describer):
    entry = p4runtime_pb2.TableEntry(table_id=99, priority=3)
    entry.match.add(field_id=2).exact.value = b"\x01"
    entry.action.action.action_id = 77
    entry.action.action.params.add(param_id=1, value=b"\x05")
    assert describer.describe(as_entity(entry)) == "#99  #2=1  priority 3 -> #77(#1=5)"
