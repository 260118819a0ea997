"""distinguishing_entries: which VNIC/PNIC entries tell a flow before its NAT from after it."""
import ipaddress

import pytest

from p4nic import pipelines
from p4nic.runtime.entities import EntityBuilder
from p4nic.runtime.translation_check import distinguishing_entries, first_packet_entries


@pytest.fixture(scope="module")
def vnic():
    return EntityBuilder(pipelines.compiled("vnic").p4info)


def ip(text):
    return int(ipaddress.ip_address(text))


# a DNAT of 10.0.0.2:80 to the guest's container 192.168.1.2:8080, as the VNIC's key sees it
BEFORE = {"meta.dst_addr": ip("10.0.0.2"), "meta.dport": 80, "meta.src_addr": ip("10.0.0.1"),
          "meta.sport": 1234}
AFTER = {"meta.dst_addr": ip("192.168.1.2"), "meta.dport": 8080, "meta.src_addr": ip("10.0.0.1"),
         "meta.sport": 1234}


def table(builder, name):
    return builder.names.table(name)


def test_a_filter_on_the_translated_port_distinguishes(vnic):
    by_port = vnic.table_entry("filters", {"proto": 6, "dport": 80}, "filter_to_queue",
                               {"queue": 2}, priority=10)
    by_source = vnic.table_entry("filters", {"src_addr": ("10.0.0.0", 0xFFFFFF00)},
                                 "filter_to_queue", {"queue": 3}, priority=5)
    found = distinguishing_entries(table(vnic, "filters"), [by_port, by_source], BEFORE, AFTER)
    assert found == [by_port]


def test_an_entry_matching_both_sides_alike_does_not(vnic):
    both = vnic.table_entry("acl", {"dst_addr": ("0.0.0.0", 0)}, "acl_deny", priority=1)
    wide = vnic.table_entry("acl", {"dport": (0, 0)}, "acl_deny", priority=2)   # wildcard
    neither = vnic.table_entry("acl", {"dst_addr": "172.16.0.9"}, "acl_deny", priority=3)
    assert distinguishing_entries(table(vnic, "acl"), [both, wide, neither], BEFORE, AFTER) == []


def test_an_entry_matching_only_after_translation_distinguishes(vnic):
    container = vnic.table_entry("acl", {"dst_addr": ("192.168.1.0", 0xFFFFFF00)}, "acl_deny",
                                 priority=1)
    assert distinguishing_entries(table(vnic, "acl"), [container], BEFORE, AFTER) == [container]


def test_an_untranslated_flow_is_never_distinguished(vnic):
    by_port = vnic.table_entry("filters", {"dport": 80}, "filter_drop", priority=1)
    assert distinguishing_entries(table(vnic, "filters"), [by_port], BEFORE, BEFORE) == []


def test_exact_tables(vnic):
    tunnel = vnic.table_entry("tunnel", {"vni": 100, "dstAddr": "00:00:00:00:0a:01"},
                              "encap_vxlan", {"vni": 100, "smac": 1, "dmac": 2, "sip": 3,
                                              "dip": 4})
    before = {"hdr.eth.dstAddr": 0x0A01}
    after = {"hdr.eth.dstAddr": 0x0C01}        # a load balancer's backend MAC
    assert distinguishing_entries(table(vnic, "tunnel"), [tunnel], before, after) == [tunnel]


def test_first_packet_criterion(vnic):
    first = vnic.table_entry("special_criteria", {"is_first": 1}, "mark_special", priority=2)
    arp = vnic.table_entry("special_criteria", {"is_arp": 1}, "mark_special", priority=1)
    assert first_packet_entries(table(vnic, "special_criteria"), [first, arp]) == [first]
