"""The stateful firewall: ordered rules, first match wins, and "allow established".

Rules see a flow key as it arrives, before any NAT (ICMP type and code in the port fields, as
the NIC key has them). A new connection's original side gets the verdict of the first rule
matching its key, or the default. Its reply side passes when `allow_established` is on (the
packets of a tracked connection pass before any rule); with it off, the reply side's key is
judged by the rules too, so both sides are decided once, when the connection opens.
"""
from __future__ import annotations

from p4nic.runtime.services.flows import FlowKey, compile_match
from p4nic.runtime.services.policy import Firewall

VERDICTS = ("allow", "deny")


class RuleSet:
    """A policy.Firewall compiled for the engine."""

    def __init__(self, firewall: Firewall):
        for where, verdict in [("default", firewall.default)] + [
                (rule.origin or f"rule {n + 1}", rule.verdict)
                for n, rule in enumerate(firewall.rules)]:
            if verdict not in VERDICTS:
                raise ValueError(f"firewall {where}: verdict must be 'allow' or 'deny', "
                                 f"not {verdict!r}")
        self.allow_established = firewall.allow_established
        self.default_allows = firewall.default == "allow"
        self._default = f"firewall default ({firewall.default})"
        self._rules = tuple((compile_match(rule.match), rule.verdict == "allow",
                             rule.origin or f"firewall rule {n + 1}")
                            for n, rule in enumerate(firewall.rules))

    def verdict(self, key: FlowKey) -> tuple:
        """(allowed, what decided: the rule's origin, or "firewall default ...")."""
        for matches, allows, origin in self._rules:
            if matches(key):
                return allows, origin
        return self.default_allows, self._default

    def reply_verdict(self, reply_key: FlowKey) -> tuple:
        """The verdict for the reply side of a connection whose original side passed."""
        if self.allow_established:
            return True, "allow established"
        return self.verdict(reply_key)
