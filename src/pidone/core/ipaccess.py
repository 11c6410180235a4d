"""IPAddressAllow= and IPAddressDeny= (systemd.resource-control(5)) as sets of prefixes.

systemd 252's config_parse_in_addr_prefixes() (src/shared/in-addr-prefix-util.c): each
word is an address with an optional prefix length (masked to it), or a shortcut: `any`
(0.0.0.0/0 ::/0), `localhost` (127.0.0.0/8 ::1/128), `link-local` (169.254.0.0/16
fe80::/64), `multicast` (224.0.0.0/4 ff00::/8); an empty assignment empties the set. After
loading, in_addr_prefixes_reduce() drops every prefix another one of the set covers. This
is what `show` prints; pidone does not filter traffic by it (reported as not enforced).
"""

from __future__ import annotations

from pidone.core.hints import TYPE_CHECKING

if TYPE_CHECKING:
    import ipaddress

    Network = ipaddress.IPv4Network | ipaddress.IPv6Network

SHORTCUTS = {
    "any": ("0.0.0.0/0", "::/0"),
    "localhost": ("127.0.0.0/8", "::1/128"),
    "link-local": ("169.254.0.0/16", "fe80::/64"),
    "multicast": ("224.0.0.0/4", "ff00::/8"),
}


def _is_localhost(word: str) -> bool:
    # 252 is_localhost(): "localhost", "localhost.", "localhost.localdomain" and names
    # below .localhost / .localhost.localdomain
    w = word.lower()
    return w in ("localhost", "localhost.", "localhost.localdomain", "localhost.localdomain.") or (
        w.endswith(
            (".localhost", ".localhost.", ".localhost.localdomain", ".localhost.localdomain.")
        )
    )


def prefixes(values: list[str]) -> list[Network]:
    """The set of the assignments `values` (in order), IPv4 first."""
    import ipaddress

    found: dict[Network, None] = {}
    for value in values:
        words = value.split()
        if not words:
            found.clear()
            continue
        for word in words:
            if word in SHORTCUTS or _is_localhost(word):
                texts: tuple[str, ...] = SHORTCUTS["localhost" if _is_localhost(word) else word]
            else:
                texts = (word,)
            for text in texts:
                try:
                    found[ipaddress.ip_network(text, strict=False)] = None
                except ValueError:
                    continue  # (the unit loader warned about it)
    return sorted(found, key=lambda n: (n.version, n.network_address.packed, n.prefixlen))


def show_value(values: list[str]) -> str:
    return " ".join(str(n) for n in prefixes(values))
