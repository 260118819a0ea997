"""The grammar and its lexer: what parses into what, with which locations, and how syntax
errors read."""
import pytest

from p4nic.dsl import ast
from p4nic.dsl.errors import Diagnostics
from p4nic.dsl.lexer import LexError, words
from p4nic.dsl.parser import parse


def parsed(text: str):
    errors = Diagnostics()
    found = parse(text, "t.nic", errors)
    assert not errors.errors, "\n".join(str(e) for e in errors.errors)
    return found.items


def errors_of(text: str) -> list:
    errors = Diagnostics()
    assert parse(text, "t.nic", errors) is None
    return errors.errors


def rules_of(text: str):
    [nic] = parsed("vnic v {\n filters {\n" + text + "\n }\n}\n")
    [block] = nic.statements
    return block.rules


@pytest.mark.parametrize("word, kind", [
    ("80", "VALUE"), ("0x88cc", "VALUE"), ("1024-65535", "VALUE"), ("5..10", "VALUE"),
    ("10.0.0.0/8", "VALUE"), ("2001:db8::/32", "VALUE"), ("fe80::1", "VALUE"),
    ("00:11:22:33:44:55", "VALUE"), ("ff:ff:ff:ff:ff:ff", "VALUE"),
    ("01:00:5e:00:00:00/25", "VALUE"), ("127.0.0.1:9559", "VALUE"), ("[::1]:9559", "VALUE"),
    ("30s", "VALUE"), ("first-packet", "NAME"), ("MyIngress.ipv4_lpm", "NAME"),
    ("hdr.ipv4.dstAddr", "NAME"), ("$web", "VAR"), ('"a file.txt"', "STRING"),
])
def test_words(word, kind):
    [token] = words(word, "t.nic")
    assert (token.type, token.value) == (kind, word)


def test_arrow_ends_a_word_and_comments_and_semicolons_vanish():
    found = [(t.type, t.value) for t in words("53->queue 2; # comment\n", "t.nic")]
    assert found == [("VALUE", "53"), ("->", "->"), ("NAME", "queue"), ("VALUE", "2")]


def test_lexer_errors_are_located():
    with pytest.raises(LexError) as info:
        words("vnic v {\n  filters { @ }\n}", "t.nic")
    assert (info.value.loc.line, info.value.loc.column) == (2, 13)


def test_a_rule_keeps_its_words_and_places():
    [rule] = rules_of("   ip daddr 10.0.0.5 tcp dport {80, $web} -> queue 2   # web")
    assert rule.text == "ip daddr 10.0.0.5 tcp dport {80, $web} -> queue 2"
    assert (rule.loc.line, rule.loc.column) == (3, 4)
    ip, tcp = rule.match.items
    assert (ip.selector, [f.name for f in ip.fields]) == ("ip", ["daddr"])
    dport = tcp.fields[0]
    assert dport.values.is_set and [str(v) for v in dport.values.items] == ["80", "$web"]
    assert (rule.action.kind, str(rule.action.args["queue"])) == ("queue", "2")


def test_rules_may_share_a_line_or_span_lines():
    first, second = rules_of("tcp dport 80 -> queue 2  udp\n  dport 53\n -> drop")
    assert first.action.kind == "queue"
    assert second.text == "udp dport 53 -> drop" and second.loc.line == 3


def test_alternatives_masks_priorities_and_defaults():
    first, second, default = rules_of(
        "ether type arp|ip6|0x88cc -> queue 1 priority 7\n"
        "ip saddr 0x0a000000&&&0xff000000 -> rss priority 3\ndefault -> rss")
    assert [str(v) for v in first.match.items[0].fields[0].values.items] == \
        ["arp", "ip6", "0x88cc"]
    assert str(first.priority) == "7"
    masked = second.match.items[0].fields[0].values.items[0]
    assert masked.kind == "masked" and (masked.text, masked.mask.text) == \
        ("0x0a000000", "0xff000000")
    assert default.match is None


def test_every_action():
    [nic] = parsed("""pnic p { network n vni 1 {
        rx -> vf 1 push vlan 5      rx -> uplink pop vlan
        rx -> port 3 route smac 02:00:00:00:00:01 dmac 02:00:00:00:00:02
        rx -> flood vf 1, vf 2, uplink     rx -> to cpu     rx -> deny
    } }""")
    actions = [r.action for r in nic.statements[0].rules]
    assert [a.kind for a in actions] == ["forward", "forward", "forward", "flood", "cpu", "drop"]
    assert actions[0].args["option"].kind == "push"
    assert [str(p) for p in actions[3].args["ports"]] == ["vf 1", "vf 2", "uplink"]


def test_keywords_stay_names_where_a_name_is_expected():
    [nic] = parsed('nic r { program "r.p4" table port { port 1 queue {2, 3} -> drop(port 4, '
                   'queue 5) default -> vcpu() } }')
    [table] = [s for s in nic.statements if isinstance(s, ast.Table)]
    assert table.name == "port"
    rule, default = table.rules
    assert [k[0] for k in rule.keys] == ["port", "queue"]
    assert rule.call.action == "drop" and [a.name for a in rule.call.args] == ["port", "queue"]
    assert default.call.action == "vcpu"


def test_statements_of_every_kind():
    items = parsed("""
        define web = {80, 443}
        include "other.nic"
        host h { link vf 1 vnic a { } pnic b { vfs 2 } }
        vnic v {
            p4runtime 127.0.0.1:9559 device 1 election 2 role "guest" queues 4
            numa { node 0 { vcpus 0-3 queues 1, 2 } rss over vcpus 0-3
                   pin ip saddr 1.1.1.1 ip daddr 2.2.2.2 tcp sport 1 dport 2 -> vcpu 1 }
            pipeline { inject stage s before acl for tcp { any -> allow }
                       bypass acl, services for udp  append stage t { default -> drop } }
            special { first-packet arp nd dhcp flow tcp dport 22 }
            services { firewall { default -> allow } nat { ip saddr 1.0.0.0/8 -> snat 2.2.2.2 }
                       lb vip 1.1.1.1:80 tcp { backend 2.2.2.2:80 mac 02:00:00:00:00:01 weight 2 }
                       offload { to vnic after 1 packet to pnic never idle 1m vnic capacity 5 } }
            tunnel vni 7 to 02:00:00:00:00:01 vxlan local 1.1.1.1 remote 2.2.2.2
                smac 02:00:00:00:00:01 dmac 02:00:00:00:00:02
        }
        pnic p { special-path fast-path vf 1 vni 7 }
    """)
    kinds = [type(i).__name__ for i in items]
    assert kinds == ["Define", "Include", "Host", "Nic", "Nic"]
    host = items[2]
    assert [n.name for n in host.nics] == ["a", "b"] and host.nics[0].host == "h"
    vnic = items[3]
    names = [type(s).__name__ for s in vnic.statements]
    assert names == ["Setting"] * 5 + ["Numa", "Pipeline", "Special", "Services", "Tunnel"]
    stage, bypass, append = vnic.statements[6].statements
    assert (stage.where, stage.anchor) == ("before", "acl")
    assert [n for n, _ in bypass.stages] == ["acl", "services"]
    assert (append.where, append.selection) == ("append", None)


def test_one_error_per_broken_line_and_parsing_carries_on():
    found = errors_of("vnic v {\n filters {\n  tcp dport 80 queue 2\n  udp dport 53 -> queu 3\n"
                      "  tcp dport 1 -> queue 1\n }\n statment\n}\n")
    assert [(e.loc.line, e.loc.column) for e in found] == [(3, 16), (4, 19), (7, 2)]
    assert "expected '->'" in found[0].message
    assert "(did you mean 'queue'?)" in found[1].message


def test_an_unclosed_block_is_reported_at_the_end():
    [error] = errors_of("vnic v {\n filters {\n  default -> rss\n }\n")
    assert error.message.startswith("unexpected end of file: expected")
    assert (error.loc.line, error.loc.column) == (4, 3)
