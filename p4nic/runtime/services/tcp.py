"""TCP connection tracking: the state machine and sequence-window checks of one connection.

States follow the connection, not either endpoint: SYN_SENT (the opening SYN), SYN_RECV (its
SYN-ACK), ESTABLISHED (the ACK completing the handshake), then FIN_WAIT (a FIN from one side),
CLOSE_WAIT (that FIN acknowledged), LAST_ACK (FINs from both sides, not both acknowledged: also
a simultaneous close), TIME_WAIT (both FINs acknowledged) and CLOSE (a RST). A SYN on a
connection in TIME_WAIT or CLOSE reopens the flow as a new connection. Only the original side
opens: a SYN from the reply side before the SYN-ACK (simultaneous open) is invalid.

Window checks are those of "Real Stateful TCP Packet Filtering in IP Filter" (G. van Rooij),
the model Linux conntrack also uses. Per side s, with r the other side:
  end[s]    highest sequence number s has sent, plus one (SYN and FIN count one),
  maxend[s] highest sequence number r allows s to send (r's ack + r's window),
  maxwin[s] largest window s has advertised (scaled); 0 while s is unknown.
A segment from s with sequence seq, end seq_end and acknowledgement ack is in the window when
  I   seq <= maxend[s]                      (not beyond what r can accept)
  II  seq_end >= end[s] - maxwin[r]         (not older than what r may still need)
  III ack <= end[r]                         (acknowledges nothing r has not sent)
  IV  ack >= end[r] - max(maxwin[s], 66000) (not a stale acknowledgement)
all in 32-bit sequence arithmetic. Window scaling (RFC 7323) applies when both SYNs carry the
option. A connection restored from a NIC (`picked_up`) has no sequence history — a NIC does not
track it — so its windows are learnt from the next segments and not checked (Linux's "be
liberal" for connections picked up mid-stream).
"""
from __future__ import annotations

from enum import IntEnum

from p4nic.runtime.nicdefs import CT_STATE_ESTABLISHED, CT_STATE_NEW
from p4nic.runtime.services.packets import TCP_FIELDS

FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10
ORIGINAL, REPLY = 0, 1
ACCEPT, INVALID, REOPEN = 0, 1, 2          # what update() says of a segment
MAX_ACK_WINDOW = 66000
SEQ_MASK = 0xFFFFFFFF
HALF = 0x7FFFFFFF
CONTROL = SYN | RST | FIN | ACK
OPTION_END, OPTION_NOP, OPTION_WINDOW_SCALE = 0, 1, 3
MAX_WINDOW_SCALE = 14                      # RFC 7323 section 2.3


class TcpState(IntEnum):
    SYN_SENT = 1
    SYN_RECV = 2
    ESTABLISHED = 3
    FIN_WAIT = 4
    CLOSE_WAIT = 5
    LAST_ACK = 6
    TIME_WAIT = 7
    CLOSE = 8


ESTABLISHED = TcpState.ESTABLISHED
OPENING = (TcpState.SYN_SENT, TcpState.SYN_RECV)
FINISHED = (TcpState.TIME_WAIT, TcpState.CLOSE)


def before(a: int, b: int) -> bool:
    """a comes before b in sequence space."""
    return (a - b) & SEQ_MASK > HALF


def window_scale(frame: bytes, l4: int, data: int) -> int | None:
    """The window-scale shift in the TCP options of a SYN, None if it has none."""
    at, stop = l4 + 20, data
    while at < stop:
        kind = frame[at]
        if kind == OPTION_END:
            return None
        if kind == OPTION_NOP:
            at += 1
            continue
        if at + 1 >= stop or frame[at + 1] < 2:
            return None
        if kind == OPTION_WINDOW_SCALE and frame[at + 1] == 3 and at + 2 < stop:
            return min(frame[at + 2], MAX_WINDOW_SCALE)
        at += frame[at + 1]
    return None


class TcpTracker:
    """The state of one TCP connection, fed every segment of it by `update`."""
    __slots__ = ("state", "end", "maxend", "maxwin", "scale", "isn", "fin", "fin_acked",
                 "liberal", "reason")

    def __init__(self, state: TcpState, liberal: bool = False):
        self.state = state
        self.end = [0, 0]
        self.maxend = [0, 0]
        self.maxwin = [0, 0]
        self.scale = [None, None]    # window-scale shift each SYN offered (None: none)
        self.isn = [None, None]
        self.fin = [None, None]      # sequence number just after each side's FIN
        self.fin_acked = [False, False]
        self.liberal = liberal
        self.reason = ""             # why the last segment was INVALID

    @classmethod
    def opening(cls, frame: bytes, l4: int, end: int) -> "TcpTracker | str":
        """The tracker of a connection opened by this segment, or why it cannot open one."""
        seq, _, offset, flags, window = TCP_FIELDS.unpack_from(frame, l4 + 4)
        if flags & CONTROL != SYN:
            return "TCP segment of no tracked connection (only a SYN opens one)"
        tracker = cls(TcpState.SYN_SENT)
        data = l4 + (offset >> 4) * 4
        tracker._learn_syn(ORIGINAL, seq, (seq + 1 + end - data) & SEQ_MASK, window,
                           window_scale(frame, l4, data))
        return tracker

    @classmethod
    def picked_up(cls, state: TcpState) -> "TcpTracker":
        """A connection restored without sequence history (from a NIC)."""
        return cls(state, liberal=True)

    @property
    def ct_state(self) -> int:
        return CT_STATE_NEW if self.state in OPENING else CT_STATE_ESTABLISHED

    @property
    def alive(self) -> bool:
        return self.state not in FINISHED

    def timeout(self, timeouts) -> float:
        """Idle seconds this state allows (conntrack.Timeouts)."""
        return timeouts.tcp[self.state]

    def update(self, side: int, frame: bytes, l4: int, end: int) -> int:
        """ACCEPT, INVALID (self.reason says why; the state is unchanged) or REOPEN."""
        seq, ack, offset, flags, window = TCP_FIELDS.unpack_from(frame, l4 + 4)
        data = l4 + (offset >> 4) * 4
        if flags & CONTROL == ACK and self.state == ESTABLISHED:
            # the common case: an established connection's data or ACK, only windows move
            seq_end = (seq + end - data) & SEQ_MASK
            return ACCEPT if self._in_window(side, seq, ack, flags, window, seq_end) else INVALID
        seq_end = (seq + end - data + (flags & SYN and 1) + (flags & FIN)) & SEQ_MASK
        if flags & RST:
            return self._reset(side, seq, ack, flags, window, seq_end)
        if flags & SYN:
            if flags & ACK:
                return self._syn_ack(side, seq, ack, window, seq_end, frame, l4, data)
            return self._syn(side, seq, window, seq_end, frame, l4, data)
        if not flags & ACK:
            return self._invalid("TCP segment without ACK")
        state = self.state
        if state == TcpState.SYN_SENT:
            return self._invalid("TCP segment before the SYN-ACK")
        if state == TcpState.SYN_RECV and (side == REPLY or not self._acks_syn(ack, REPLY)):
            return self._invalid("TCP segment that does not complete the handshake")
        if not self._in_window(side, seq, ack, flags, window, seq_end):
            return INVALID
        if state == TcpState.SYN_RECV:
            state = TcpState.ESTABLISHED
        if state not in OPENING and state != TcpState.CLOSE:
            if flags & FIN and self.fin[side] is None:
                self.fin[side] = seq_end
            other = self.fin[1 - side]
            if other is not None and not before(ack, other):
                self.fin_acked[1 - side] = True
            state = self._closing_state()
        self.state = state
        return ACCEPT

    # -- the kinds of segment ----------------------------------------------------------------

    def _syn(self, side, seq, window, seq_end, frame, l4, data) -> int:
        state = self.state
        if state in FINISHED:
            return REOPEN
        if side == ORIGINAL and state == TcpState.SYN_SENT:
            self._learn_syn(ORIGINAL, seq, seq_end, window, window_scale(frame, l4, data))
            return ACCEPT                 # a retransmission, or a new initial sequence number
        if side == ORIGINAL and state == TcpState.SYN_RECV and seq == self.isn[ORIGINAL]:
            return ACCEPT
        return self._invalid(f"SYN in state {state.name}")

    def _syn_ack(self, side, seq, ack, window, seq_end, frame, l4, data) -> int:
        state = self.state
        if side == REPLY and state == TcpState.SYN_SENT:
            if not self._acks_syn(ack, ORIGINAL):
                return self._invalid("SYN-ACK that does not acknowledge the SYN")
            self._learn_syn(REPLY, seq, seq_end, window, window_scale(frame, l4, data))
            if self.scale[ORIGINAL] is None or self.scale[REPLY] is None:
                self.scale = [0, 0]      # RFC 7323: scaling needs the option in both SYNs
            self._advance_peer(REPLY, ack, window)
            self.state = TcpState.SYN_RECV
            return ACCEPT
        if side == REPLY and state in (TcpState.SYN_RECV, TcpState.ESTABLISHED) \
                and (seq == self.isn[REPLY] or self.liberal):
            return ACCEPT                 # retransmitted SYN-ACK
        return self._invalid(f"SYN-ACK in state {state.name}")

    def _reset(self, side, seq, ack, flags, window, seq_end) -> int:
        if self.state == TcpState.SYN_SENT and side == REPLY:
            if not flags & ACK or not self._acks_syn(ack, ORIGINAL):
                return self._invalid("RST that does not acknowledge the SYN")
        elif not self._in_window(side, seq, ack, flags, window, seq_end):
            return INVALID
        self.state = TcpState.CLOSE
        return ACCEPT

    # -- sequence numbers and windows ----------------------------------------------------------

    def _learn_syn(self, side, seq, seq_end, window, scale) -> None:
        self.isn[side] = seq
        self.end[side] = self.maxend[side] = seq_end
        self.maxwin[side] = max(window, 1)         # a SYN's window is never scaled
        self.scale[side] = scale

    def _acks_syn(self, ack: int, side: int) -> bool:
        """ack acknowledges `side`'s SYN (anything goes while that side is unknown)."""
        return self.liberal and self.maxwin[side] == 0 or ack == self.end[side]

    def _advance_peer(self, side: int, ack: int, window: int) -> None:
        """`side` acknowledged ack with this window: the other side may send up to there."""
        limit = (ack + max(window, 1)) & SEQ_MASK
        if before(self.maxend[1 - side], limit):
            self.maxend[1 - side] = limit

    def _in_window(self, side, seq, ack, flags, window, seq_end) -> bool:
        """Checks I-IV (not for a picked-up connection); if they pass, the segment moves the
        windows on. Otherwise self.reason says which check failed. (Sequence comparisons are
        written out, `before(a, b)` being `(a - b) & SEQ_MASK > HALF`: this runs per packet.)"""
        other = 1 - side
        end, maxend, maxwin = self.end, self.maxend, self.maxwin
        if not flags & ACK:
            ack = end[other]                        # no acknowledgement to check
        scaled = window << (self.scale[side] or 0)
        if maxwin[side] == 0:                       # the first segment seen from this side
            end[side] = seq_end
            maxwin[side] = scaled or 1
            maxend[side] = (seq_end + maxwin[side]) & SEQ_MASK
            if maxwin[other] == 0:
                end[other] = maxend[other] = ack
        if not self.liberal:
            ack_window = maxwin[side] if maxwin[side] > MAX_ACK_WINDOW else MAX_ACK_WINDOW
            if (maxend[side] - seq) & SEQ_MASK > HALF:
                self.reason = "TCP segment beyond the receiver's window"      # I
            elif (seq_end - end[side] + maxwin[other]) & SEQ_MASK > HALF:
                self.reason = "TCP segment older than the receiver's window"  # II
            elif (end[other] - ack) & SEQ_MASK > HALF:
                self.reason = "TCP ACK for data not yet sent"                 # III
            elif (ack - end[other] + ack_window) & SEQ_MASK > HALF:
                self.reason = "TCP ACK far behind the data sent"              # IV
            else:
                self.reason = ""
            if self.reason:
                return False
        if maxwin[side] < scaled:
            maxwin[side] = scaled
        if (end[side] - seq_end) & SEQ_MASK > HALF:
            end[side] = seq_end
        if flags & ACK:
            limit = (ack + (scaled or 1)) & SEQ_MASK
            if (maxend[other] - limit) & SEQ_MASK > HALF:
                maxend[other] = limit
        return True

    def _closing_state(self) -> TcpState:
        sent = [fin is not None for fin in self.fin]
        if sent[ORIGINAL] and sent[REPLY]:
            return TcpState.TIME_WAIT if all(self.fin_acked) else TcpState.LAST_ACK
        for side in (ORIGINAL, REPLY):
            if sent[side]:
                return TcpState.CLOSE_WAIT if self.fin_acked[side] else TcpState.FIN_WAIT
        return TcpState.ESTABLISHED

    def _invalid(self, reason: str) -> int:
        self.reason = reason
        return INVALID
