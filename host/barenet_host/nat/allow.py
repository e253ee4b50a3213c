"""The destination allow-list (`--nat-allow CIDR`, repeatable): where the board may go
through the NAT. Empty: everywhere (as QEMU's slirp)."""

from barenet.addr import and4, ip_ntoa, prefix_mask


class AllowList:
    def __init__(self, cidrs=()):
        # [(network, mask)] from [(ip bytes, prefix)] (cliargs.cidr's values)
        self.nets = []
        for ip, prefix in cidrs:
            mask = prefix_mask(prefix)
            self.nets.append((and4(ip, mask), mask))

    def allows(self, dst):
        if not self.nets:
            return True
        for net, mask in self.nets:
            if and4(dst, mask) == net:
                return True
        return False

    def describe(self):
        if not self.nets:
            return "any destination"
        return ", ".join("%s/%d" % (ip_ntoa(n), bin(int.from_bytes(m, "big")).count("1"))
                         for n, m in self.nets)
