"""The constants of p4src/include/headers.p4 for Python: ports, reason codes, stage bits,
packet-out modes and the special-processing flag encodings.

tests/runtime/test_nicdefs.py checks every value here against the P4 source, so the two
cannot drift apart.
"""

PORT_UPLINK = 0        # VNIC: towards the vswitch/PNIC; PNIC: the physical network
PORT_FIRST_QUEUE = 1   # VNIC: RX queue q is port q; PNIC: first virtual function

# packet_in.reason
REASON_SERVICE = 1
REASON_ACL = 2
REASON_SLOT = 3
REASON_POLICY_MISS = 4
REASON_SPECIAL = 5
REASON_POLICY = 6

# packet_out.mode
PKT_OUT_DIRECT = 0
PKT_OUT_INJECT = 1

# stage bits of the VNIC's per-flow bypass mask
STAGE_FILTER = 0x01
STAGE_ACL = 0x02
STAGE_SERVICES = 0x04
STAGE_QSELECT = 0x08
STAGE_ENCAP = 0x10

# the special-processing flag in the outer header
UDP_PORT_GENEVE = 6081
UDP_PORT_VXLAN = 4789
GENEVE_OPT_CLASS_P4NIC = 0xFF01
GENEVE_OPT_TYPE_SPECIAL = 0x01
VXLAN_FLAG_VNI = 0x08
VXLAN_FLAG_SPECIAL = 0x01

# meta.ct_state: written by the guest's connection tracking (p4nic.runtime.services) into
# services.flow_table entries, matched by the slot tables; INVALID is never in an entry
CT_STATE_UNTRACKED = 0
CT_STATE_NEW = 1
CT_STATE_ESTABLISHED = 2
CT_STATE_INVALID = 3

# flow_event_t.event (digest)
FLOW_EVENT_TCP_CLOSE = 1

# PNIC rx_path_counter indices (pnic.p4)
PATH_FAST = 0
PATH_SPECIAL = 1
