"""Union-find over duplicate edges only.

The Ray runner hands this the verified candidate pairs (two doc ids and a Jaccard each), never the
signatures or texts: its memory grows with the number of near-duplicate documents, not with the
corpus. Roots are chosen by doc_id so the components do not depend on edge order.
"""

from __future__ import annotations

from collections.abc import Iterable


class UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        parent = self.parent
        parent.setdefault(x, x)
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    def union(self, x: str, y: str) -> None:
        rx, ry = self.find(x), self.find(y)
        if rx != ry:
            lo, hi = sorted((rx, ry))
            self.parent[hi] = lo

    def components(self) -> list[list[str]]:
        """Every set of two or more members, members sorted, sets sorted by first member."""
        groups: dict[str, list[str]] = {}
        for x in self.parent:
            groups.setdefault(self.find(x), []).append(x)
        return sorted((sorted(g) for g in groups.values() if len(g) > 1), key=lambda g: g[0])


def components(edges: Iterable[tuple[str, str]]) -> list[list[str]]:
    uf = UnionFind()
    for a, b in edges:
        uf.union(a, b)
    return uf.components()
