"""TCP connection tracking: every transition of the state machine, the window checks, RST in
every state, simultaneous close, TIME_WAIT expiry and reopening, with an injected clock."""
import pytest

from p4nic.runtime.nicdefs import CT_STATE_ESTABLISHED, CT_STATE_INVALID, CT_STATE_NEW
from p4nic.runtime.services import Direction, GuestServices, Timeouts, Verdict
from p4nic.runtime.services.policy import ServicePolicy
from p4nic.runtime.services.tcp import TcpState
from svc_helpers import Clock, TcpTalk, tcp

FORWARD, DROP = Verdict.FORWARD, Verdict.DROP


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def services(clock):
    return GuestServices(ServicePolicy(), clock=clock)


def talk_to(services, state: TcpState, **kwargs) -> TcpTalk:
    """A conversation driven into `state` through valid segments only."""
    talk = TcpTalk(services, **kwargs)
    steps = {
        TcpState.SYN_SENT: [("client", "S")],
        TcpState.SYN_RECV: [("client", "S"), ("server", "SA")],
        TcpState.ESTABLISHED: [("client", "S"), ("server", "SA"), ("client", "A")],
        TcpState.FIN_WAIT: [("client", "S"), ("server", "SA"), ("client", "A"),
                            ("client", "FA")],
        TcpState.CLOSE_WAIT: [("client", "S"), ("server", "SA"), ("client", "A"),
                              ("client", "FA"), ("server", "A")],
        TcpState.LAST_ACK: [("client", "S"), ("server", "SA"), ("client", "A"),
                            ("client", "FA"), ("server", "A"), ("server", "FA")],
        TcpState.TIME_WAIT: [("client", "S"), ("server", "SA"), ("client", "A"),
                             ("client", "FA"), ("server", "A"), ("server", "FA"),
                             ("client", "A")],
        TcpState.CLOSE: [("client", "S"), ("server", "SA"), ("client", "A"), ("client", "R")],
    }[state]
    for who, flags in steps:
        result = getattr(talk, who)(flags)
        assert result.verdict is FORWARD, (who, flags, result.reason)
    assert talk.connection.state == state
    return talk


def test_three_way_handshake(services):
    talk = TcpTalk(services)
    syn = talk.client("S")
    assert (syn.verdict, syn.connection.state, syn.ct_state) == (FORWARD, TcpState.SYN_SENT,
                                                                  CT_STATE_NEW)
    syn_ack = talk.server("SA")
    assert (syn_ack.verdict, syn_ack.connection.state, syn_ack.ct_state) == (
        FORWARD, TcpState.SYN_RECV, CT_STATE_NEW)
    assert syn_ack.connection is syn.connection and syn_ack.side == 1
    ack = talk.client("A", b"GET / HTTP/1.0\r\n\r\n")
    assert (ack.verdict, ack.connection.state, ack.ct_state) == (FORWARD, TcpState.ESTABLISHED,
                                                                  CT_STATE_ESTABLISHED)
    data = talk.server("PA", b"HTTP/1.0 200 OK\r\n\r\n")
    assert (data.verdict, data.side, data.connection.state) == (FORWARD, 1, TcpState.ESTABLISHED)
    assert len(services) == 1


def test_retransmitted_syn_and_syn_ack_are_accepted(services):
    talk = talk_to(services, TcpState.SYN_SENT)
    assert talk.client("S", seq=1000).verdict is FORWARD
    assert talk.connection.state == TcpState.SYN_SENT
    talk.server("SA")
    assert talk.server("SA", seq=5000).verdict is FORWARD
    assert talk.client("S", seq=1000).verdict is FORWARD
    assert talk.connection.state == TcpState.SYN_RECV


@pytest.mark.parametrize("flags", ["A", "PA", "FA", "SA", "SF", "R", "RA", ""])
def test_only_a_syn_opens_a_connection(services, flags):
    result = services.process(tcp("10.0.0.1", "10.0.0.2", 40000, 80, flags, 1000, 1),
                              Direction.RX)
    assert (result.verdict, result.connection, result.ct_state) == (DROP, None, CT_STATE_INVALID)
    assert "TCP" in result.reason and len(services) == 0


def test_syn_ack_must_acknowledge_the_syn(services):
    talk = talk_to(services, TcpState.SYN_SENT)
    wrong = talk.server("SA", seq=5000, ack=999)
    assert (wrong.verdict, wrong.ct_state) == (DROP, CT_STATE_INVALID)
    assert "acknowledge the SYN" in wrong.reason
    assert talk.connection.state == TcpState.SYN_SENT
    assert talk.server("SA").verdict is FORWARD


def test_segments_out_of_the_handshake_are_invalid(services):
    talk = talk_to(services, TcpState.SYN_SENT)
    assert talk.client("A").verdict is DROP                  # data before the SYN-ACK
    assert talk.server("A", seq=5000, ack=1001).verdict is DROP
    talk.server("SA")
    assert talk.client("A", seq=1001, ack=4000).verdict is DROP   # does not ack the SYN-ACK
    assert talk.server("A", seq=5001, ack=1001).verdict is DROP   # server data before the ACK
    assert talk.connection.state == TcpState.SYN_RECV
    assert talk.client("S", seq=77).verdict is DROP          # a new ISN once answered
    assert talk.connection.state == TcpState.SYN_RECV


def test_syn_on_an_established_connection_is_invalid(services):
    talk = talk_to(services, TcpState.ESTABLISHED)
    result = talk.client("S", seq=9999)
    assert result.verdict is DROP and "SYN in state ESTABLISHED" in result.reason
    assert talk.server("SA", seq=123).verdict is DROP        # not the SYN-ACK's retransmission
    assert talk.server("SA", seq=5000, ack=1001).verdict is FORWARD   # it is
    assert talk.connection.state == TcpState.ESTABLISHED


def test_segment_without_ack_flag_is_invalid(services):
    talk = talk_to(services, TcpState.ESTABLISHED)
    for flags in ("F", "P", ""):
        result = talk.client(flags, b"x")
        assert result.verdict is DROP and result.reason == "TCP segment without ACK"
    assert talk.connection.state == TcpState.ESTABLISHED


@pytest.mark.parametrize("seq, ack, reason", [
    (1001 + 65535 + 1, 5001, "beyond the receiver's window"),    # I
    (1001 - 65535 - 10, 5001, "older than the receiver's window"),  # II
    (1001, 5001 + 10, "ACK for data not yet sent"),             # III
    (1001, 5001 - 70000, "ACK far behind"),                     # IV
])
def test_out_of_window_segments_are_dropped_and_change_nothing(services, seq, ack, reason):
    talk = talk_to(services, TcpState.ESTABLISHED)
    conn = talk.connection
    result = talk.client("PA", b"data", seq=seq & 0xFFFFFFFF, ack=ack & 0xFFFFFFFF)
    assert (result.verdict, result.ct_state, result.frame) == (DROP, CT_STATE_INVALID, None)
    assert reason in result.reason
    assert result.connection is conn and conn.state == TcpState.ESTABLISHED
    assert conn.counters(0) == (3, conn.bytes[0])            # counted, as a NIC counts it
    assert talk.client("PA", b"in window").verdict is FORWARD
    assert talk.server("A").verdict is FORWARD


def test_a_retransmission_inside_the_window_passes(services):
    talk = talk_to(services, TcpState.ESTABLISHED)
    assert talk.client("PA", b"0123456789").verdict is FORWARD
    assert talk.client("PA", b"0123456789", seq=1001, ack=5001).verdict is FORWARD


def test_sequence_numbers_wrap_around(services):
    talk = TcpTalk(services, client_isn=0xFFFFFFF0, server_isn=0xFFFFFFFE)
    assert talk.client("S").verdict is FORWARD
    assert talk.server("SA").verdict is FORWARD
    assert talk.client("A").verdict is FORWARD
    assert talk.client("PA", b"x" * 40).verdict is FORWARD    # its sequence numbers cross 2^32
    assert talk.next["client"] == 0x19
    assert talk.server("PA", b"y").verdict is FORWARD         # and so does its ACK
    assert talk.client("PA", b"z", seq=0xFFFFFFF1).verdict is FORWARD   # retransmission
    assert talk.connection.state == TcpState.ESTABLISHED


def scaled_talk(services, client_scale, server_scale):
    talk = TcpTalk(services)
    options = lambda shift: [("WScale", shift)] if shift is not None else []
    assert talk.client("S", window=1000, options=options(client_scale)).verdict is FORWARD
    assert talk.server("SA", window=1000, options=options(server_scale)).verdict is FORWARD
    assert talk.client("A", window=1000).verdict is FORWARD
    return talk


def test_window_scaling_when_both_syns_offer_it(services):
    talk = scaled_talk(services, 4, 4)
    # the server's 1000 is 16000 once scaled: the client may send 10000 bytes ahead
    assert talk.server("A", window=1000).verdict is FORWARD
    assert talk.client("PA", b"x", seq=1001 + 10000, window=1000).verdict is FORWARD


def test_no_window_scaling_unless_both_syns_offer_it(services):
    talk = scaled_talk(services, 4, None)
    assert talk.server("A", window=1000).verdict is FORWARD
    result = talk.client("PA", b"x", seq=1001 + 10000, window=1000)
    assert result.verdict is DROP and "beyond the receiver's window" in result.reason


def test_orderly_close(services):
    talk = talk_to(services, TcpState.ESTABLISHED)
    expected = [("client", "FA", TcpState.FIN_WAIT), ("server", "A", TcpState.CLOSE_WAIT),
                ("server", "PA", TcpState.CLOSE_WAIT), ("server", "FA", TcpState.LAST_ACK),
                ("client", "A", TcpState.TIME_WAIT)]
    for who, flags, state in expected:
        result = getattr(talk, who)(flags, b"late data" if flags == "PA" else b"")
        assert (result.verdict, result.connection.state) == (FORWARD, state), (who, flags)
        assert result.ct_state == CT_STATE_ESTABLISHED     # closing is still established
    assert talk.client("FA", seq=1001, ack=talk.next["server"]).verdict is FORWARD  # retransmit
    assert talk.connection.state == TcpState.TIME_WAIT


def test_simultaneous_close(services):
    talk = talk_to(services, TcpState.ESTABLISHED)
    assert talk.client("FA").verdict is FORWARD
    # the server's FIN crosses the client's: it does not acknowledge it
    assert talk.server("FA", ack=1001).verdict is FORWARD
    assert talk.connection.state == TcpState.LAST_ACK
    assert talk.client("A").verdict is FORWARD
    assert talk.connection.state == TcpState.LAST_ACK
    assert talk.server("A").verdict is FORWARD
    assert talk.connection.state == TcpState.TIME_WAIT


def test_close_in_one_segment_each_way(services):
    talk = talk_to(services, TcpState.ESTABLISHED)
    talk.client("FA")
    assert talk.server("FA").verdict is FORWARD          # acks the client's FIN, sends its own
    assert talk.connection.state == TcpState.LAST_ACK
    talk.client("A")
    assert talk.connection.state == TcpState.TIME_WAIT


@pytest.mark.parametrize("state", list(TcpState))
@pytest.mark.parametrize("who", ["client", "server"])
def test_rst_in_every_state_closes(services, state, who):
    talk = talk_to(services, state)
    flags = "RA" if (state == TcpState.SYN_SENT and who == "server") else "R"
    result = getattr(talk, who)(flags)
    assert (result.verdict, result.connection.state) == (FORWARD, TcpState.CLOSE)
    assert services.ready_to_offload(result.connection) is False


@pytest.mark.parametrize("state", [TcpState.SYN_RECV, TcpState.ESTABLISHED,
                                   TcpState.FIN_WAIT, TcpState.TIME_WAIT])
def test_rst_outside_the_window_is_invalid(services, state):
    talk = talk_to(services, state)
    result = talk.client("R", seq=(talk.next["client"] + 10 ** 6) & 0xFFFFFFFF)
    assert result.verdict is DROP and "window" in result.reason
    assert talk.connection.state == state


def test_rst_answering_a_syn_must_acknowledge_it(services):
    talk = talk_to(services, TcpState.SYN_SENT)
    assert talk.server("R", seq=0).verdict is DROP
    assert talk.server("RA", seq=0, ack=1234).verdict is DROP
    assert talk.connection.state == TcpState.SYN_SENT
    assert talk.server("RA", seq=0, ack=1001).verdict is FORWARD
    assert talk.connection.state == TcpState.CLOSE


def test_time_wait_expires(services, clock):
    talk = talk_to(services, TcpState.TIME_WAIT)
    conn = talk.connection
    assert conn.timeout == Timeouts().tcp_time_wait
    clock.now += 119
    assert services.expire() == [] and services.find(conn.key) is conn
    clock.now += 2
    assert services.expire() == [conn] and services.find(conn.key) is None
    late = talk.client("A")
    assert (late.verdict, late.connection) == (DROP, None)    # no connection any more


def test_syn_reopens_a_connection_in_time_wait_or_close(services):
    for state in (TcpState.TIME_WAIT, TcpState.CLOSE):
        old = talk_to(services, state).connection
        talk = TcpTalk(services, client_isn=900000)
        result = talk.client("S")
        assert result.verdict is FORWARD and result.connection is not old
        assert result.connection.state == TcpState.SYN_SENT
        assert result.connection.counters(0) == (1, len(tcp("10.0.0.1", "10.0.0.2", 40000, 80)))
        services.end(result.connection)


def test_state_timeouts_follow_the_state(services, clock):
    talk = talk_to(services, TcpState.SYN_SENT)
    conn = talk.connection
    assert conn.timeout == Timeouts().tcp_syn_sent
    talk.server("SA")
    assert conn.timeout == Timeouts().tcp_syn_recv
    talk.client("A")
    assert conn.timeout == Timeouts().tcp_established
    clock.now += 3600
    assert talk.client("PA", b"still here").verdict is FORWARD
    talk.client("R")
    assert conn.timeout == Timeouts().tcp_close
    clock.now += 11
    assert talk.server("A").connection is None      # expired on its next packet


def test_custom_timeouts(clock):
    services = GuestServices(ServicePolicy(), clock=clock, timeouts=Timeouts(tcp_syn_sent=5))
    talk = talk_to(services, TcpState.SYN_SENT)
    clock.now += 6
    assert [c.key for c in services.expire()] == [talk.connection.key]
