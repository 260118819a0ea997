"""Source and destination NAT for new connections: rule choice, SNAT port pools, bindings.

DNAT rules see the flow key as it arrives; SNAT rules see it after DNAT or load balancing (as
Linux's POSTROUTING does). A rule whose address family differs from the flow's is skipped. SNAT
of TCP and UDP takes a port from the rule's pool for that protocol — the flow's own source port
when it is in the pool and free, else the next free one — such that the connection's reply key
is not in use; other protocols have no ports, so only the address changes. The port is held by
a `SnatBinding` until the connection ends.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

from p4nic.runtime.services.flows import PORT_PROTOCOLS, FlowKey, compile_match
from p4nic.runtime.services.policy import DestinationNat, SourceNat


class PortPool:
    """The ports [low, high] of one SNAT rule for one protocol."""

    def __init__(self, low: int, high: int):
        self.low, self.high = low, high
        self.used: set = set()
        self._next = low

    @property
    def size(self) -> int:
        return self.high - self.low + 1

    def allocate(self, preferred: int, usable: Callable[[int], bool]) -> int | None:
        """A free port for which usable(port) holds, `preferred` if possible; None if none."""
        if self.low <= preferred <= self.high and preferred not in self.used and usable(preferred):
            self.used.add(preferred)
            return preferred
        port = self._next
        for _ in range(self.size - len(self.used)):
            while port in self.used:
                port = port + 1 if port < self.high else self.low
            candidate, port = port, port + 1 if port < self.high else self.low
            if usable(candidate):
                self.used.add(candidate)
                self._next = port
                return candidate
        return None

    def reserve(self, port: int) -> bool:
        """Take a given port (a connection restored from a NIC); False if not free here."""
        if not self.low <= port <= self.high or port in self.used:
            return False
        self.used.add(port)
        return True

    def release(self, port: int) -> None:
        self.used.discard(port)


class SnatBinding(NamedTuple):
    """A port a connection holds in a pool."""
    pool: PortPool
    port: int

    def release(self) -> None:
        self.pool.release(self.port)


class DestinationNats:
    """policy.DestinationNat rules, first match wins."""

    def __init__(self, rules: tuple[DestinationNat, ...]):
        for rule in rules:
            if rule.to_port is not None and not 0 <= rule.to_port <= 0xFFFF:
                raise ValueError(f"{rule.origin or 'destination NAT'}: port {rule.to_port} "
                                 "is not a 16-bit port")
        self._rules = tuple((compile_match(rule.match), rule) for rule in rules)

    def translate(self, key: FlowKey) -> tuple:
        """(key with its destination rewritten, the rule's origin), or (key, "") if none
        applies."""
        for matches, rule in self._rules:
            if rule.to_addr.version == key.ip_ver and matches(key):
                port = rule.to_port if rule.to_port is not None and key.has_ports else key.dport
                return (key._replace(dst=int(rule.to_addr), dport=port),
                        rule.origin or "destination NAT")
        return key, ""


class SourceNats:
    """policy.SourceNat rules, first match wins, each with a port pool per protocol."""

    def __init__(self, rules: tuple[SourceNat, ...]):
        self._rules = []
        for rule in rules:
            low, high = rule.ports
            if not 1 <= low <= high <= 0xFFFF:
                raise ValueError(f"{rule.origin or 'source NAT'}: port range {low}-{high} is "
                                 "not within 1-65535")
            pools = {proto: PortPool(low, high) for proto in PORT_PROTOCOLS}
            self._rules.append((compile_match(rule.match), rule, pools))

    def translate(self, key: FlowKey, usable: Callable[[FlowKey], bool]) -> tuple:
        """(translated key, SnatBinding or None, "") when a rule applies or none does (then
        the key is unchanged); (key, None, reason) when the matching rule cannot translate."""
        for matches, rule, pools in self._rules:
            if rule.to_addr.version != key.ip_ver or not matches(key):
                continue
            address = int(rule.to_addr)
            where = rule.origin or "source NAT"
            if key.has_ports:
                pool = pools[key.proto]
                port = pool.allocate(key.sport, lambda p: usable(key._replace(src=address,
                                                                              sport=p)))
                if port is None:
                    return key, None, (f"{where}: no free port in {pool.low}-{pool.high} "
                                       f"({len(pool.used)} of {pool.size} in use)")
                return key._replace(src=address, sport=port), SnatBinding(pool, port), ""
            translated = key._replace(src=address)
            if not usable(translated):
                return key, None, f"{where}: a connection already uses {translated}"
            return translated, None, ""
        return key, None, ""

    def reserve(self, translated: FlowKey) -> SnatBinding | None:
        """The binding of a restored connection translated to `translated`: its port taken
        again from the pool of the rule that hands out that address and port, if any."""
        if not translated.has_ports:
            return None
        for _, rule, pools in self._rules:
            pool = pools[translated.proto]
            if (rule.to_addr.version == translated.ip_ver and int(rule.to_addr) == translated.src
                    and pool.reserve(translated.sport)):
                return SnatBinding(pool, translated.sport)
        return None
