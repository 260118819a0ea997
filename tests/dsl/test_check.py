"""The checker and compiler on small files: priorities, expansion of sets and ranges, implied
fields, warnings for rules no packet reaches, ownership, profiles and stage chains, services
policy, hosts, includes, and any P4Info by name."""
import ipaddress
from pathlib import Path

import pytest

from p4nic import dsl
from p4nic.dsl.model import OWNER_COOKIE
from p4nic.runtime.services.policy import (Backend, FirewallRule, FlowMatch, LoadBalancer,
                                           OffloadPolicy)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def load(tmp_path, text, name="t.nic", **kwargs):
    path = tmp_path / name
    path.write_text(text)
    return dsl.load(path, **kwargs)


def failing(tmp_path, text) -> list:
    with pytest.raises(dsl.DslError) as info:
        load(tmp_path, text)
    return info.value.errors


def vnic(body: str) -> str:
    return "vnic vm1 {\n    queues 4\n" + body + "\n}\n"


def test_rules_in_order_get_falling_priorities_and_sets_expand(tmp_path):
    model = load(tmp_path, vnic("""    filters {
        tcp dport {80, 443} ip daddr {10.0.0.1, 10.0.0.2}  -> queue 2
        udp dport 53                                        -> queue 3
        default                                             -> rss
    }"""))
    lines = model.summaries("vm1")
    assert lines == [
        "VnicIngress.filters: ip_ver=4 dst_addr=10.0.0.1 proto=6 dport=80 priority 1000000 "
        "-> VnicIngress.filter_to_queue(queue=2)",
        "VnicIngress.filters: ip_ver=4 dst_addr=10.0.0.2 proto=6 dport=80 priority 1000000 "
        "-> VnicIngress.filter_to_queue(queue=2)",
        "VnicIngress.filters: ip_ver=4 dst_addr=10.0.0.1 proto=6 dport=443 priority 1000000 "
        "-> VnicIngress.filter_to_queue(queue=2)",
        "VnicIngress.filters: ip_ver=4 dst_addr=10.0.0.2 proto=6 dport=443 priority 1000000 "
        "-> VnicIngress.filter_to_queue(queue=2)",
        "VnicIngress.filters: proto=17 dport=53 priority 999999 "
        "-> VnicIngress.filter_to_queue(queue=3)",
        "VnicIngress.rx_default: default -> VnicIngress.default_rss()",
    ]
    origins = [str(d.origin) for d in model.entries()["vm1"].entities]
    assert origins[0] == f"{tmp_path / 't.nic'}:4: filter: tcp dport {{80, 443}} ip daddr " \
                         "{10.0.0.1, 10.0.0.2} -> queue 2"


def test_explicit_priorities_are_used_as_written(tmp_path):
    model = load(tmp_path, vnic("""    filters {
        tcp dport 80 -> queue 2 priority 5
        tcp dport 81 -> queue 3 priority 900
    }"""))
    assert [line.split(" priority ")[1].split(" ")[0] for line in model.summaries("vm1")] == \
        ["5", "900"]


def test_ports_ranges_become_the_fewest_ternary_entries(tmp_path):
    model = load(tmp_path, vnic("    filters { tcp dport 1-14 -> queue 2 }"))
    assert len(model.summaries("vm1")) == 4          # prefix splitting would need 6


def test_shadowed_rule_is_a_warning_naming_both_lines(tmp_path):
    model = load(tmp_path, vnic("""    filters {
        tcp dport 1000-2000  -> queue 2
        tcp dport 2001-3000  -> queue 3
        tcp dport 1500-2500  -> queue 4
        udp                  -> queue 1
    }"""))
    [warning] = model.warnings
    assert (warning.severity, warning.loc.line) == ("warning", 6)
    assert "never matches" in warning.message and "line 4, 5" in warning.message
    assert str(warning).split("\n")[0].endswith(f"warning: {warning.message}")


def test_a_partly_covered_rule_is_no_warning(tmp_path):
    model = load(tmp_path, vnic("""    filters {
        tcp dport 1000-2000 -> queue 2
        tcp dport 1500-2500 -> queue 4
    }"""))
    assert model.warnings == []


def test_independent_errors_are_all_reported(tmp_path):
    errors = failing(tmp_path, vnic("""    filters {
        tcp dport 80 -> queue 9
        udp dport 99999 -> queue 1
        ip saddr 10.0.0.0/33 -> drop
    }
    vf 1 vni 3"""))
    assert [e.loc.line for e in errors] == [4, 5, 6, 8]


def test_every_table_entry_and_group_carries_the_cookie(tmp_path):
    entries = dsl.load(EXAMPLES / "networks.nic").entries()["nic0"]
    for desired in entries.entities:
        entity = desired.entity
        if entity.WhichOneof("entity") == "table_entry":
            assert entity.table_entry.metadata == OWNER_COOKIE
        else:
            group = entity.packet_replication_engine_entry.multicast_group_entry
            assert group.metadata == OWNER_COOKIE


def test_ownership_of_defaults_and_the_numa_selector():
    entries = dsl.load(EXAMPLES / "host.nic").entries()
    vm1, nic0 = entries["vm1"], entries["nic0"]
    assert {"VnicIngress.filters", "VnicIngress.rx_default", "VnicIngress.classify",
            "VnicIngress.services.flow_table", "VnicIngress.slot_after_encap"} <= \
        vm1.managed_defaults
    assert "VnicIngress.steering.numa_queues" not in vm1.managed_defaults   # const default
    assert "VnicIngress.acl" not in vm1.managed_defaults                    # no statement
    assert vm1.managed_profiles == {"VnicIngress.steering.node_queue_selector"}
    assert {"PnicIngress.policy", "PnicIngress.special_path", "PnicIngress.vf_vni"} <= \
        nic0.managed_defaults
    defaults = [d.entity.table_entry for d in vm1.entities
                if d.entity.table_entry.is_default_action]
    assert len(defaults) == 2                       # rx_default (rss) and the services miss


def test_numa_fills_the_indirection_table_and_groups_queues_per_node():
    model = dsl.load(EXAMPLES / "numa.nic")
    lines = model.summaries("vm1")
    rss = [line for line in lines if "rss_indirection" in line]
    assert len(rss) == 128
    assert rss[9].endswith("set_vcpu(vcpu=1)")      # bucket 9 -> vcpus[9 % 8]
    assert "VnicIngress.steering.node_queue_selector group 2: members 3, 4" in lines
    assert any("vcpu_node: vcpu=6 -> VnicIngress.steering.set_node(node=1)" in l for l in lines)
    [pin] = [line for line in lines if "flow_affinity" in line]
    assert pin.startswith("VnicIngress.steering.flow_affinity: ip_ver=4 src_addr=10.0.0.9 "
                          "dst_addr=10.0.0.5 proto=6 sport=5000 dport=80 -> ")


def test_profiles_combinations_and_stage_chains():
    model = dsl.load(EXAMPLES / "pipeline.nic")
    classify = [line for line in model.summaries("vm1") if "classify" in line]
    assert [line.split("set_profile")[1] for line in classify] == [
        "(profile=1, bypass=0)", "(profile=2, bypass=2)", "(profile=3, bypass=2)",
        "(profile=4, bypass=0)", "(profile=6, bypass=2)"]
    chains = {c.profile: c for c in model.stage_chains("vm1")}
    assert sorted(chains) == [0, 1, 2, 3, 4, 6]

    def shown(profile):
        return " | ".join({"fixed": "", "injected": "+", "bypassed": "~"}[s.kind] + s.name
                          for s in chains[profile].stages)
    assert shown(1) == "filter | +scrub | acl | services | qselect | encap"
    assert shown(3) == "filter | +scrub | ~acl | services | qselect | encap"
    assert shown(4) == "filter | acl | services | qselect | encap | +punt"
    assert shown(0) == "filter | acl | services | qselect | encap"
    assert chains[3].flows == "tcp dport 80 and ip saddr 10.9.0.0/16"
    assert chains[0].flows == "every other flow"


def test_a_stage_rule_bypassing_keeps_the_flows_own_bypass_bits(tmp_path):
    model = load(tmp_path, vnic("""    pipeline {
        bypass acl for ip saddr 10.9.0.0/16
        stage fast after filter for tcp { any -> bypass services }
    }"""))
    slot = [line for line in model.summaries("vm1") if "slot_after_filter" in line]
    assert slot == [
        "VnicIngress.slot_after_filter: profile=2 priority 1000000 "
        "-> VnicIngress.slot_set_bypass(bypass=4)",
        "VnicIngress.slot_after_filter: profile=3 priority 1000000 "
        "-> VnicIngress.slot_set_bypass(bypass=6)",   # also in the acl bypass: keeps it
    ]


def test_disjoint_stages_share_a_junction(tmp_path):
    model = load(tmp_path, vnic("""    pipeline {
        stage a after acl for tcp { any -> drop }
        stage b after acl for udp { any -> set dscp 1 }
    }"""))
    slot = [line for line in model.summaries("vm1") if "slot_after_acl" in line]
    assert [line.split("priority")[0] for line in slot] == [
        "VnicIngress.slot_after_acl: profile=0x1&&&0x1 ",
        "VnicIngress.slot_after_acl: profile=0x2&&&0x2 "]


def test_services_policy():
    policy = dsl.load(EXAMPLES / "services.nic").services("vm1")
    firewall = policy.firewall
    assert firewall.allow_established and firewall.default == "deny"
    assert [r.verdict for r in firewall.rules] == ["deny", "allow"]
    assert firewall.rules[0].match == FlowMatch(proto=6, dport=((22, 22), (23, 23)))
    assert isinstance(firewall.rules[0], FirewallRule)
    assert firewall.rules[1].match.src == ipaddress.ip_network("10.0.0.0/24")
    [snat] = policy.snat
    assert (str(snat.to_addr), snat.ports) == ("192.0.2.1", (20000, 29999))
    [dnat] = policy.dnat
    assert (str(dnat.to_addr), dnat.to_port, dnat.match.dport) == ("10.0.0.7", 80,
                                                                   ((8080, 8080),))
    [lb] = policy.load_balancers
    assert isinstance(lb, LoadBalancer) and (str(lb.vip), lb.port, lb.proto) == \
        ("10.0.0.100", 80, 6)
    assert lb.backends[1] == Backend(ipaddress.ip_address("10.0.0.12"), 8080,
                                     "02:00:00:00:01:0c", 2)
    assert policy.offload == OffloadPolicy(to_vnic_after_packets=3,
                                           to_vnic_when_established=False,
                                           to_pnic_after_packets=None,
                                           to_pnic_when_established=True,
                                           idle_timeout_s=30.0, vnic_capacity=4096,
                                           pnic_capacity=1000)
    assert dsl.load(EXAMPLES / "filters.nic").services("vm1") is None


def test_host_and_targets():
    model = dsl.load(EXAMPLES / "host.nic")
    assert (model.host.name, model.host.vnic, model.host.pnic, model.host.vf) == \
        ("h1", "vm1", "nic0", 1)
    assert [(t.name, t.kind, t.address) for t in model.nics] == \
        [("vm1", "vnic", None), ("nic0", "pnic", None)]
    target = dsl.load(EXAMPLES / "filters.nic").nics[0]
    assert (target.address, target.device_id, target.election_id, target.role) == \
        ("127.0.0.1:9559", 0, (0, 1), "")
    assert target.p4info is not None and target.loc.line == 8


def test_includes_and_defines_across_files(tmp_path):
    (tmp_path / "common.nic").write_text("define web = {80, 443}\n")
    model = load(tmp_path, 'include "common.nic"\n' + vnic("    filters { tcp dport $web -> queue 2 }"))
    assert len(model.summaries("vm1")) == 2


def test_generic_nic_takes_the_command_line_p4info(tmp_path):
    from p4nic.runtime.local_switch import compile_p4
    _, p4info = compile_p4(EXAMPLES / "l3_router.p4", tmp_path)
    text = "nic r {\n table ipv4_lpm { dstAddr 10.0.0.0/8 -> drop() } \n}\n"
    model = load(tmp_path, text, p4info=str(p4info))
    assert model.summaries("r") == ["RouterIngress.ipv4_lpm: dstAddr=10.0.0.0/8 "
                                    "-> RouterIngress.drop()"]
    assert model.entries()["r"].managed_defaults == {"RouterIngress.ipv4_lpm"}


def test_vnic_tunnel_keys_on_vni_0_and_pnic_on_its_vni():
    lines = dsl.load(EXAMPLES / "special.nic").summaries("vm1")
    [tunnel] = [line for line in lines if "encap.tunnel" in line]
    assert tunnel.startswith("VnicIngress.encap.tunnel: vni=0 dstAddr=02:00:00:00:0b:01 -> "
                             "VnicIngress.encap.encap_geneve(vni=5001")


def test_unknown_nic_name_suggests():
    model = dsl.load(EXAMPLES / "filters.nic")
    with pytest.raises(KeyError, match="did you mean 'vm1'"):
        model.stage_chains("vm2")
