"""Hypothesis strategies for P4Runtime table-entry Updates of a program's tables: mostly valid,
canonical ones, sometimes ones the spec refuses (for the Write-path tests)."""
from hypothesis import strategies as st

from p4nic.proto import p4info_pb2
from p4nic.proto import p4runtime_pb2 as pb


def number(width: int):
    """A value of a `width`-bit field, from a small pool (so that keys collide) or anywhere."""
    return st.one_of(st.sampled_from([0, 1, 2, 0x80 % (1 << width), (1 << width) - 1]),
                     st.integers(0, (1 << width) - 1))


@st.composite
def bytestring(draw, value: int, width: int):
    """`value` as a bytestring: canonical mostly; else padded with a zero byte, empty, or
    replaced by a value too wide for the field."""
    flaw = draw(st.sampled_from(["none"] * 37 + ["padded", "empty", "too wide"]))
    if flaw == "empty":
        return b""
    if flaw == "too wide":
        value = 1 << width
    data = value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")
    return b"\0" + data if flaw == "padded" else data


KINDS = {p4info_pb2.MatchField.EXACT: "exact", p4info_pb2.MatchField.LPM: "lpm",
         p4info_pb2.MatchField.TERNARY: "ternary", p4info_pb2.MatchField.RANGE: "range",
         p4info_pb2.MatchField.OPTIONAL: "optional"}


@st.composite
def field_match(draw, field):
    """A FieldMatch of `field`: a valid one of its kind mostly; sometimes one the spec
    refuses (another kind, a don't-care, bits past the prefix or outside the mask, a reversed
    range)."""
    width = field.bitwidth
    kind = KINDS[field.match_type]
    if draw(st.integers(0, 30)) == 30:
        kind = draw(st.sampled_from(sorted(KINDS.values())))
    odd = draw(st.integers(0, 12)) == 12
    fm = pb.FieldMatch(field_id=field.id)
    value = draw(number(width))
    if kind == "exact":
        fm.exact.value = draw(bytestring(value, width))
    elif kind == "optional":
        fm.optional.value = draw(bytestring(value, width))
    elif kind == "lpm":
        plen = min(width, draw(st.sampled_from([width, width, 8, 16, 1])))
        if odd:     # a prefix length out of range, or bits set past the prefix
            plen = draw(st.sampled_from([0, width + 1, -1, plen]))
            if 0 < plen < width:
                value |= 1 << draw(st.integers(0, width - plen - 1))
        else:
            value &= ((1 << width) - 1) ^ ((1 << (width - plen)) - 1)
        fm.lpm.value = draw(bytestring(value, width))
        fm.lpm.prefix_len = plen
    elif kind == "ternary":
        mask = draw(number(width)) if not odd else 0
        fm.ternary.value = draw(bytestring(value if odd else value & mask, width))
        fm.ternary.mask = draw(bytestring(mask, width))
    else:
        low, high = sorted([value, draw(number(width))], reverse=odd)
        if (low, high) == (0, (1 << width) - 1) and not odd:
            high -= 1
        fm.range.low = draw(bytestring(low, width))
        fm.range.high = draw(bytestring(high, width))
    return fm


@st.composite
def updates(draw, p4info):
    """An Update of one of the program's tables: mostly a valid, canonical one."""
    actions = {a.preamble.id: a for a in p4info.actions}
    table = draw(st.sampled_from(list(p4info.tables)))
    rare = st.integers(0, 39).map(lambda n: n == 39)   # hypothesis favours 0
    te = pb.TableEntry(table_id=table.preamble.id)
    fields = [draw(field_match(f)) for f in table.match_fields   # some left out, exact rarely
              if f.match_type != p4info_pb2.MatchField.EXACT and draw(st.booleans())
              or not draw(rare)]
    if draw(rare):
        fields.reverse()
    if fields and draw(rare):
        fields.append(fields[0])
    te.match.extend(fields)
    ternary = table.match_fields[0].match_type == p4info_pb2.MatchField.TERNARY
    te.priority = draw(st.sampled_from([1, 7, 7, 100]) if ternary else st.just(0))
    if draw(rare):
        te.priority = draw(st.sampled_from([0, -3, 5]))
    if not draw(rare):
        refs = [r.id for r in table.action_refs]
        action = actions[draw(st.sampled_from(refs))]
        if draw(rare):
            action = draw(st.sampled_from(list(actions.values())))
        te.action.action.action_id = action.preamble.id
        params = [pb.Action.Param(param_id=p.id, value=draw(bytestring(
            draw(number(p.bitwidth)), p.bitwidth))) for p in action.params if not draw(rare)]
        if draw(rare):
            params.reverse()
        te.action.action.params.extend(params)
    if table.idle_timeout_behavior or draw(rare):
        te.idle_timeout_ns = draw(st.sampled_from([0, 10**12, 5 * 10**9]))
    if draw(rare):
        te.idle_timeout_ns = -1
    te.controller_metadata = draw(st.sampled_from([0, 0, 5]))
    te.metadata = draw(st.sampled_from([b"", b"", b"note"]))
    if draw(rare):
        te.counter_data.packet_count = 3
    if draw(rare):
        te.is_const = True
    kind = draw(st.sampled_from([pb.Update.INSERT] * 6 + [pb.Update.MODIFY, pb.Update.DELETE]))
    if draw(rare):
        kind = pb.Update.UNSPECIFIED
    return pb.Update(type=kind, entity=pb.Entity(table_entry=te))
