"""Max-norm (Chebyshev) neighbour search kernels for the KSG estimator.

KSG needs, for every sample, the distance eps_i to its k-th neighbour in the
joint space and the number of samples strictly closer than eps_i in each
marginal space. This module provides both in O(n log n):

* a k-d tree (median split on the widest dimension, built from presorted
  per-dimension orders) with a *bottom-up* k-NN query: start in the query's
  own leaf and climb only until the current k-NN ball fits inside the cell
  already searched. For k = 3 on 2-D data a query climbs ~3 levels and
  computes ~25 distances, instead of descending from the root;
* range counts: for 1-D marginals (the common case) two window-end searches
  per query in the sorted values, started from an O(n) bucket index; a
  top-down tree count for multi-dimensional ones.

Small helpers are inlined at numba-IR level (``inline="always"``): as separate
calls they cost about half of the k-NN query time (measured). Everything is
written for numba so ``mi_batch`` can run many estimates in one ``prange``
loop without the GIL.

A tree is the tuple ``(idx, start, end, left, parent, lo, hi, clo, chi,
leaf_of)`` over the rows of ``pts``, a copy of the points in tree order: node
``c`` owns rows ``start[c]:end[c]``; ``idx`` holds each row's original index;
children of ``c`` are ``left[c]`` and ``left[c] + 1`` (-1 for leaves);
``lo``/``hi`` are tight bounding boxes, ``clo``/``chi`` the cell bounds
(intersection of the ancestors' split half-spaces) used to stop the upward
search; ``leaf_of[row]`` is the leaf holding a row.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

LEAF_SIZE = 16
# Traversal stack: two entries per level, and depth <= log2(n) + 1 <= 64.
_STACK = 160


# Subtrees per tree built in parallel: the top levels that produce them are split
# serially (4 of ~13 levels at n = 100 000), the rest in one prange over all trees.
_FRONTIER = 16


@njit(cache=True)
def alloc_trees(n_trees, n, d):
    """Arrays for n_trees trees over n points in d dims.

    A split node has > LEAF_SIZE points, so every leaf but a lone root holds
    >= LEAF_SIZE / 2 and a subtree of s points adds <= 4 floor(s / LEAF_SIZE)
    nodes; each of the <= _FRONTIER subtrees grown in parallel gets that many
    slots plus 2, after the serially split top (two slots per top leaf and per
    pending subtree): 4 floor(n / LEAF_SIZE) + 4 _FRONTIER + 1 slots suffice.
    """
    m = 4 * (n // LEAF_SIZE) + 6 * _FRONTIER + 4
    idx = np.empty((n_trees, n), np.int64)
    start = np.empty((n_trees, m), np.int64)
    end = np.empty((n_trees, m), np.int64)
    left = np.empty((n_trees, m), np.int64)
    parent = np.empty((n_trees, m), np.int64)
    lo = np.empty((n_trees, m, d))
    hi = np.empty((n_trees, m, d))
    clo = np.empty((n_trees, m, d))
    chi = np.empty((n_trees, m, d))
    leaf_of = np.empty((n_trees, n), np.int64)
    return idx, start, end, left, parent, lo, hi, clo, chi, leaf_of


@njit(cache=True, inline="always")
def tree_at(trees, p):
    """The p-th tree of an alloc_trees tuple (views, no copies)."""
    return (trees[0][p], trees[1][p], trees[2][p], trees[3][p], trees[4][p],
            trees[5][p], trees[6][p], trees[7][p], trees[8][p], trees[9][p])


@njit(cache=True)
def _split(src, orders, pts, tree, in_left, tmp, node, child):
    """Split node into children child, child + 1 and return True, or make it a leaf.

    Node is a segment [s, e) of every orders[c] (argsorts of src's columns), all
    holding the same points, so the tight bounding box is read off the segment
    ends and the median split is the segment midpoint along the widest
    dimension; the other dimensions' segments are then stably partitioned
    (branch-free) into the two halves: O(d (e - s)), no comparison-based
    selection. A leaf writes its rows (tree order) to idx, pts and leaf_of.
    in_left / tmp are scratch indexed by point and by position inside [s, e),
    so disjoint subtrees can be split concurrently.
    """
    idx, start, end, left, parent, lo, hi, clo, chi, leaf_of = tree
    d = src.shape[1]
    s = start[node]
    e = end[node]
    dim = 0
    width = -1.0
    for c in range(d):
        lo[node, c] = src[orders[c, s], c]
        hi[node, c] = src[orders[c, e - 1], c]
        w = hi[node, c] - lo[node, c]
        if w > width:
            width = w
            dim = c
    # Leaf when small, or when all points coincide (no split can separate them).
    if e - s <= LEAF_SIZE or width <= 0.0:
        left[node] = -1
        for i in range(s, e):
            o = orders[0, i]
            idx[i] = o
            leaf_of[i] = node
            for c in range(d):
                pts[i, c] = src[o, c]
        return False
    mid = (s + e) // 2
    split = src[orders[dim, mid], dim]  # left half <= split <= right half
    for i in range(s, e):
        in_left[orders[dim, i]] = 1 if i < mid else 0
    for c in range(d):
        if c == dim:
            continue
        il = s
        ir = mid
        for i in range(s, e):
            o = orders[c, i]
            f = in_left[o]
            tmp[il * f + ir * (1 - f)] = o
            il += f
            ir += 1 - f
        orders[c, s:e] = tmp[s:e]
    left[node] = child
    for ch in range(child, child + 2):
        parent[ch] = node
        for c in range(d):
            clo[ch, c] = clo[node, c]
            chi[ch, c] = chi[node, c]
    start[child] = s
    end[child] = mid
    chi[child, dim] = split
    start[child + 1] = mid
    end[child + 1] = e
    clo[child + 1, dim] = split
    return True


@njit(cache=True)
def _grow(src, orders, pts, tree, in_left, tmp, root, next_node):
    """Split the subtree at root down to its leaves, numbering new nodes from next_node."""
    stack = np.empty(_STACK, np.int64)
    stack[0] = root
    sp = 1
    while sp > 0:
        sp -= 1
        node = stack[sp]
        if _split(src, orders, pts, tree, in_left, tmp, node, next_node):
            stack[sp] = next_node
            stack[sp + 1] = next_node + 1
            sp += 2
            next_node += 2


@njit(cache=True)
def _split_top(src, orders, pts, tree, in_left, tmp, frontier, base):
    """Split a new tree's top levels breadth-first until > _FRONTIER / 2 nodes are pending.

    Writes the pending nodes to frontier and the first node slot of each one's
    subtree to base; returns how many are pending. (A separate function: inside
    a prange body numba would hoist the level buffers out of the loop.)
    """
    _, start, end, _, parent, _, _, clo, chi, _ = tree
    start[0] = 0
    end[0] = src.shape[0]
    parent[0] = -1
    for c in range(src.shape[1]):
        clo[0, c] = -np.inf
        chi[0, c] = np.inf
    level = np.zeros(_FRONTIER, np.int64)  # the root, node 0
    n_level = 1
    n_nodes = 1
    while 0 < n_level <= _FRONTIER // 2:
        nxt = np.empty(_FRONTIER, np.int64)
        n_next = 0
        for t in range(n_level):
            if _split(src, orders, pts, tree, in_left, tmp, level[t], n_nodes):
                nxt[n_next] = n_nodes
                nxt[n_next + 1] = n_nodes + 1
                n_next += 2
                n_nodes += 2
        level = nxt
        n_level = n_next
    slot = n_nodes
    for t in range(n_level):
        frontier[t] = level[t]
        base[t] = slot
        slot += 4 * ((end[level[t]] - start[level[t]]) // LEAF_SIZE) + 2
    return n_level


@njit(cache=True, parallel=True)
def build_forest(src, orders):
    """One k-d tree per set of points src (P, n, d), built in parallel.

    ``orders`` (P, d, n) must hold the argsort of every column (numpy's sort is
    several times faster than anything in numba); it is not modified. Returns
    (points in tree order (P, n, d), trees as alloc_trees). Each tree's top
    levels are split breadth-first until more than _FRONTIER / 2 (at most
    _FRONTIER) subtrees are pending or the tree is finished (tied data); those
    subtrees (of all trees) are then grown in one prange, each in its own block
    of node slots, so one large tree uses every core.
    """
    n_trees, n, d = src.shape
    trees = alloc_trees(n_trees, n, d)
    pts = np.empty_like(src)
    work = orders.copy()
    in_left = np.empty((n_trees, n), np.int64)
    tmp = np.empty((n_trees, n), np.int64)
    frontier = np.empty((n_trees, _FRONTIER), np.int64)
    base = np.empty((n_trees, _FRONTIER), np.int64)
    n_front = np.zeros(n_trees, np.int64)
    for p in prange(n_trees):
        n_front[p] = _split_top(src[p], work[p], pts[p], tree_at(trees, p), in_left[p], tmp[p],
                                frontier[p], base[p])
    for task in prange(n_trees * _FRONTIER):
        p = task // _FRONTIER
        t = task % _FRONTIER
        if t < n_front[p]:
            _grow(src[p], work[p], pts[p], tree_at(trees, p), in_left[p], tmp[p], frontier[p, t], base[p, t])
    return pts, trees


@njit(cache=True, inline="always")
def _box_dist(pts, q, lo, hi, node, d):
    """Max-norm distance from row q to the bounding box of node (0 inside)."""
    dist = 0.0
    for c in range(d):
        v = pts[q, c]
        t = lo[node, c] - v
        u = v - hi[node, c]
        if u > t:
            t = u
        if t > dist:
            dist = t
    return dist


@njit(cache=True, inline="always")
def _scan_leaf(pts, q, s, e, best, d):
    """Offer rows s..e-1 (except q) to the ascending k-best list.

    Branch-free insertion (each slot takes min(itself, max(previous slot, dist))):
    whether a point enters the list is unpredictable, and the mispredicted
    branches of an insertion sort cost more than k min/max pairs (measured).
    """
    k = best.size
    for j in range(s, e):
        dist = 0.0
        for c in range(d):
            dist = max(dist, abs(pts[j, c] - pts[q, c]))
        if j == q:
            dist = np.inf
        for i in range(k - 1, 0, -1):
            best[i] = min(best[i], max(best[i - 1], dist))
        best[0] = min(best[0], dist)


@njit(cache=True, inline="always")
def _search_down(pts, tree, q, root, best, stack_node, stack_dist, d):
    """Top-down k-NN search of the subtree at root, pruning boxes beyond best[-1]."""
    _, start, end, left, _, lo, hi, _, _, _ = tree
    k = best.size
    stack_node[0] = root
    stack_dist[0] = _box_dist(pts, q, lo, hi, root, d)
    sp = 1
    while sp > 0:
        sp -= 1
        node = stack_node[sp]
        if stack_dist[sp] >= best[k - 1]:
            continue
        child = left[node]
        if child < 0:
            _scan_leaf(pts, q, start[node], end[node], best, d)
            continue
        d0 = _box_dist(pts, q, lo, hi, child, d)
        d1 = _box_dist(pts, q, lo, hi, child + 1, d)
        # Push the farther child first so the nearer one tightens best first.
        near = child if d0 <= d1 else child + 1
        stack_node[sp] = 2 * child + 1 - near
        stack_dist[sp] = d1 if d0 <= d1 else d0
        stack_node[sp + 1] = near
        stack_dist[sp + 1] = d0 if d0 <= d1 else d1
        sp += 2


@njit(cache=True, inline="always")
def _knn_rows(pts, tree, k, q0, q1, out, d):
    """kth_neighbour_distances with the dimension d as an argument: inlined where d is a
    constant, the per-dimension loops are unrolled."""
    _, start, end, left, parent, _, _, clo, chi, leaf_of = tree
    best = np.empty(k)
    stack_node = np.empty(_STACK, np.int64)
    stack_dist = np.empty(_STACK)
    for q in range(q0, q1):
        for i in range(k):
            best[i] = np.inf
        node = leaf_of[q]
        _scan_leaf(pts, q, start[node], end[node], best, d)
        while True:
            r = best[k - 1]
            inside = True
            for c in range(d):
                inside &= (pts[q, c] - r >= clo[node, c]) & (pts[q, c] + r <= chi[node, c])
            par = parent[node]
            if inside or par < 0:
                break
            first = left[par]
            sibling = first + 1 if node == first else first
            _search_down(pts, tree, q, sibling, best, stack_node, stack_dist, d)
            node = par
        out[q - q0] = best[k - 1]


@njit(cache=True)
def kth_neighbour_distances(pts, tree, k, q0, q1, out):
    """out[q - q0] = max-norm distance from row q to its k-th nearest other row, q0 <= q < q1.

    Bottom-up search: scan the query's leaf, then climb; at each step the
    sibling subtree is searched, and the climb stops once the ball of radius
    best[k-1] lies inside the cell already searched (no other point can be
    closer). The query row is excluded by index, so duplicates are neighbours
    at distance 0.
    """
    # The 2-D joint space of two 1-D variables is the common case: a constant d lets the
    # compiler unroll the per-dimension loops (k-NN query ~15 % faster at n = 100 000;
    # mi_ksg ~4 % on one thread, measured).
    if pts.shape[1] == 2:
        _knn_rows(pts, tree, k, q0, q1, out, 2)
    else:
        _knn_rows(pts, tree, k, q0, q1, out, pts.shape[1])


@njit(cache=True)
def count_within_tree(pts, tree, radii, q0, q1, out):
    """out[q - q0] = rows at max-norm distance < radii[idx[q]] from row q (itself included).

    Queries are the tree's own rows; ``radii`` is indexed by original row index.
    Distances are ``abs(a - b)`` exactly as in the k-NN search, so the strict
    inequality excludes the neighbour that defined the radius.
    """
    idx, start, end, left, _, lo, hi, _, _, _ = tree
    d = pts.shape[1]
    stack = np.empty(_STACK, np.int64)
    for q in range(q0, q1):
        r = radii[idx[q]]
        count = 0
        stack[0] = 0
        sp = 1
        while sp > 0:
            sp -= 1
            node = stack[sp]
            near = 0.0  # nearest and farthest max-norm distance to the box
            far = 0.0
            for c in range(d):
                v = pts[q, c]
                t = max(lo[node, c] - v, v - hi[node, c])
                f = max(v - lo[node, c], hi[node, c] - v)
                near = max(near, t)
                far = max(far, f)
            if near >= r:
                continue
            if far < r:  # whole box inside the open ball
                count += end[node] - start[node]
                continue
            child = left[node]
            if child < 0:
                for j in range(start[node], end[node]):
                    dist = 0.0
                    for c in range(d):
                        dist = max(dist, abs(pts[j, c] - pts[q, c]))
                    if dist < r:
                        count += 1
            else:
                stack[sp] = child
                stack[sp + 1] = child + 1
                sp += 2
        out[q - q0] = count


@njit(cache=True, inline="always")
def _bucket(t, lo, scale, n):
    """Bucket of value t, clamped to 0..n; 0 also for NaN (an infinite range times scale 0),
    which must never reach int()."""
    f = (t - lo) * scale
    if not f > 0.0:
        return 0
    if f >= n:
        return n
    return int(f)


@njit(cache=True)
def bucket_table(vals):
    """Equal-width bucket index over sorted vals: (table, lo, scale) for count_within_sorted.

    With n buckets over [vals[0], vals[-1]], table[b] is the first index whose
    value falls in bucket b or later (table[n] = n), so a value's position in
    vals is found by one lookup plus a few steps (~4 per bucket at the densest
    part of a Gaussian) instead of a binary search or a sort.
    """
    n = vals.size
    lo = vals[0]
    span = vals[n - 1] - lo
    scale = n / span if span > 0 else 0.0
    if not np.isfinite(scale):  # subnormal span: one bucket; a poor guess only costs steps
        scale = 0.0
    table = np.empty(n + 1, np.int64)
    b = 0
    for i in range(n):
        bi = min(_bucket(vals[i], lo, scale, n), n - 1)
        while b <= bi:
            table[b] = i
            b += 1
    while b <= n:
        table[b] = n
        b += 1
    return table, lo, scale


@njit(cache=True, inline="always")
def _bucket_guess(table, lo, scale, t):
    """A starting index near the position of value t in the sorted array of table."""
    return table[_bucket(t, lo, scale, table.size - 1)]


@njit(cache=True, inline="always")
def _in_window(vals, j, v, r, right):
    """The window predicate, true on a prefix of sorted vals: vals[j] - v < r (right end)
    or v - vals[j] >= r (left end), the same ``a - b < r`` test as the k-NN search."""
    if right:
        return vals[j] - v < r
    return v - vals[j] >= r


@njit(cache=True, inline="always")
def _first_false(vals, v, r, g, right):
    """First index where _in_window is false, by galloping from the guess g, then bisecting.

    O(log distance from g): a few steps when the bucket guess is good, and no
    linear walk through a block of tied values (all in one bucket) when it is not.
    """
    n = vals.size
    if g < n and _in_window(vals, g, v, r, right):
        lo = g  # true at lo, false (or n) at hi
        step = 1
        hi = g + 1
        while hi < n and _in_window(vals, hi, v, r, right):
            lo = hi
            step *= 2
            hi = g + step
        hi = min(hi, n)
    else:
        hi = g
        step = 1
        lo = g - 1
        while lo >= 0 and not _in_window(vals, lo, v, r, right):
            hi = lo
            step *= 2
            lo = g - step
        lo = max(lo, -1)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _in_window(vals, mid, v, r, right):
            lo = mid
        else:
            hi = mid
    return hi


@njit(cache=True)
def count_within_sorted(vals, radii, table, lo, scale, q0, q1, out):
    """1-D count_within_tree: out[q - q0] = #{i : |vals[i] - vals[q]| < radii[q]} (q included).

    vals sorted ascending, radii aligned with vals, (table, lo, scale) from
    bucket_table(vals). Each window end is searched from its bucket's first index
    with the same ``a - b < r`` predicate as the k-NN search (monotone along
    sorted vals), so the count is exact whatever the guess; the guess only makes
    it fast. O(n) for smooth data, with no sort, and independent per query (parallel).
    """
    for q in range(q0, q1):
        v = vals[q]
        r = radii[q]
        j = _first_false(vals, v, r, _bucket_guess(table, lo, scale, v + r), True)
        i = _first_false(vals, v, r, _bucket_guess(table, lo, scale, v - r), False)
        out[q - q0] = max(j - i, 0)  # r = 0: the two ends cross over a block of ties
