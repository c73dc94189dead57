"""Fixes in (vehicle, time) order without a global sort: a counting sort by vehicle code, then each
vehicle's fixes put in time order on their own.

A feed's rows come in any order (shuffled, or by time with the vehicles interleaved). Sorting all
of them on a combined (vehicle, time) key costs O(n log n) with random memory access over the
whole table. Here the vehicle codes are small integers, so one counting pass finds each vehicle's
slice and a second pass writes every column into it (reads in row order, a few hundred write
streams); each slice is then ordered by time in cache: already in order (a feed sorted by time)
costs one look, a short slice an insertion sort, a longer one an LSD radix sort of its times
(8 to 16 bits a pass, as few passes as the span needs, on the time since the slice's first fix,
in seconds when every time is whole).
Both passes are stable, so equal (vehicle, time) rows keep their input order and the first of
them stays first (``first_of_repeats`` keeps it). ``group_sort`` runs both passes in threads when
asked (the kernels release the GIL): 0.27 → 0.15 s for 5 M shuffled real fixes in two.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from features.fix_threads import Blocks

NS = 1_000_000_000
MIN_RADIX_BITS = 8  # a radix pass sorts by digits of 8 to 16 bits (see ``_digit_bits``)
MAX_RADIX_BITS = 16
SHORT = 48  # slices up to this many fixes: insertion sort


@njit(cache=True)
def _time_keys(ts, a, b, key):
    """``key[:b - a]``: the times of fixes ``a..b-1`` since the earliest of them, in seconds when all
    are whole seconds apart (fewer radix passes), else nanoseconds. Returns the largest key, -1
    when the fixes are already in time order (nothing to do), or -2 when they span more than int64
    nanoseconds hold (292 years; then the slice is sorted by comparison)."""
    t0 = ts[a]
    in_order = True
    whole = True
    for i in range(a, b):
        t = ts[i]
        if t < t0:
            t0 = t
        if i > a and t < ts[i - 1]:
            in_order = False
    if in_order:
        return -1
    top = 0
    for i in range(a, b):
        d = ts[i] - t0
        if d < 0:  # overflowed
            return -2
        key[i - a] = d
        if d > top:
            top = d
        if d % NS != 0:
            whole = False
    if whole:
        for k in range(b - a):
            key[k] //= NS
        top //= NS
    return top


@njit(cache=True)
def _digit_bits(top, m):
    """Bits per radix pass, and how many passes, for ``m`` keys up to ``top``: as few passes as the
    keys' bits need with digits of ``MIN_RADIX_BITS`` bits, or wider (up to ``MAX_RADIX_BITS``)
    while their counts stay within half of ``m`` (resetting the counts is then small beside a
    pass); the passes' bits evened out. A truck's 24-bit span of seconds (194 days) in a slice of
    100,000 fixes: two passes of 12 bits, where fixed 11-bit digits took three."""
    bits = 1
    while (top >> bits) > 0:
        bits += 1
    cap = MIN_RADIX_BITS
    while cap < MAX_RADIX_BITS and (1 << (cap + 2)) <= m:
        cap += 1
    passes = (bits + cap - 1) // cap
    return (bits + passes - 1) // passes, passes


@njit(cache=True)
def _order_slice(key, m, top, perm, key2, perm2, counts):
    """``perm[:m]``: 0..m-1 in stable order of ``key[:m]`` (``key2, perm2`` scratch; ``counts`` at
    least ``2 ** MAX_RADIX_BITS + 1`` long)."""
    for i in range(m):
        perm[i] = i
    if m <= SHORT:
        for i in range(1, m):
            k = key[i]
            p = perm[i]
            j = i - 1
            while j >= 0 and key[j] > k:
                key[j + 1] = key[j]
                perm[j + 1] = perm[j]
                j -= 1
            key[j + 1] = k
            perm[j + 1] = p
        return
    digit, passes = _digit_bits(top, m)
    size = 1 << digit
    mask = size - 1
    shift = 0
    src_k, src_p, dst_k, dst_p = key, perm, key2, perm2
    flipped = False
    for _ in range(passes):  # every shift below 64 (a shift of 64 or more is undefined)
        counts[:size + 1] = 0
        for i in range(m):
            counts[((src_k[i] >> shift) & mask) + 1] += 1
        for d in range(size):
            counts[d + 1] += counts[d]
        for i in range(m):
            d = (src_k[i] >> shift) & mask
            q = counts[d]
            counts[d] = q + 1
            dst_k[q] = src_k[i]
            dst_p[q] = src_p[i]
        src_k, src_p, dst_k, dst_p = dst_k, dst_p, src_k, src_p
        flipped = not flipped
        shift += digit
    if flipped:
        for i in range(m):
            perm[i] = perm2[i]


@njit(cache=True, nogil=True)
def _slice_order(t, a, b, key, key2, perm, perm2, counts):
    """``perm[:b - a]``: the stable time order of rows ``a..b-1`` of ``t`` (radix, or a merge sort
    when the times span more than int64 nanoseconds); False, ``perm`` untouched, when they are in
    order already. ``key, key2, perm2, counts`` are scratch."""
    top = _time_keys(t, a, b, key)
    if top == -1:
        return False
    if top == -2:
        perm[:b - a] = np.argsort(t[a:b], kind="mergesort")
    else:
        _order_slice(key, b - a, top, perm, key2, perm2, counts)
    return True


@njit(cache=True, nogil=True)
def _count_codes(rows, codes, k0, k1, n_groups):
    """How many of ``rows[k0:k1]`` each vehicle code has."""
    counts = np.zeros(n_groups, dtype=np.int64)
    for k in range(k0, k1):
        counts[codes[rows[k]]] += 1
    return counts


@njit(cache=True, nogil=True)
def _scatter(rows, codes, ts, lat, lon, k0, k1, fill, r, t, la, lo):
    """Write ``rows[k0:k1]`` (input order) and their columns to their vehicles' slices, from each
    vehicle's position in ``fill`` (advanced as written)."""
    for k in range(k0, k1):
        row = rows[k]
        g = codes[row]
        q = fill[g]
        fill[g] = q + 1
        r[q] = row
        t[q] = ts[row]
        la[q] = lat[row]
        lo[q] = lon[row]


@njit(cache=True, nogil=True)
def _sort_groups(start, g0, g1, r, t, la, lo):
    """Put each slice ``start[g]..start[g + 1]-1`` of vehicles ``g0..g1-1`` in stable time order."""
    longest = 0
    for g in range(g0, g1):
        longest = max(longest, start[g + 1] - start[g])
    key = np.empty(longest, dtype=np.int64)  # scratch for one vehicle at a time
    key2 = np.empty(longest, dtype=np.int64)
    perm = np.empty(longest, dtype=np.int64)
    perm2 = np.empty(longest, dtype=np.int64)
    buf_r = np.empty(longest, dtype=np.int64)
    buf_t = np.empty(longest, dtype=np.int64)
    buf_la = np.empty(longest)
    buf_lo = np.empty(longest)
    counts = np.empty((1 << MAX_RADIX_BITS) + 1, dtype=np.int64)
    for g in range(g0, g1):
        a = start[g]
        b = start[g + 1]
        m = b - a
        if m < 2:
            continue
        if not _slice_order(t, a, b, key, key2, perm, perm2, counts):
            continue
        for i in range(m):
            p = a + perm[i]
            buf_r[i] = r[p]
            buf_t[i] = t[p]
            buf_la[i] = la[p]
            buf_lo[i] = lo[p]
        r[a:b] = buf_r[:m]
        t[a:b] = buf_t[:m]
        la[a:b] = buf_la[:m]
        lo[a:b] = buf_lo[:m]


class _Blocks(Blocks):
    """``fix_threads.Blocks`` with the layout of a counting sort's slots."""

    def layout(self, counts: list[np.ndarray], slots: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """From each block's count per slot: where each slot starts, where each block writes in
        each slot (block b after blocks 0..b-1: the order stays stable), and the slots cut into
        blocks of about equal rows for the sorting (block j: slots ``bounds[j]..bounds[j + 1]-1``)."""
        counts = np.asarray(counts).reshape(self.k, slots)
        start = np.zeros(slots + 1, dtype=np.int64)
        np.cumsum(counts.sum(axis=0), out=start[1:])
        fills = start[:-1] + np.cumsum(counts, axis=0) - counts
        n = start[-1]
        bounds = np.unique(np.clip(np.concatenate([[0], np.searchsorted(start, n * np.arange(1, self.k) / self.k), [slots]]),
                                   0, slots))
        return start, fills, bounds


def group_sort(rows, codes, ts, lat, lon, n_groups, threads: int = 1):
    """The fixes at ``rows`` (valid rows, in input order) in stable (vehicle code, ts) order.

    ``codes`` are in ``0..n_groups-1`` at every row of ``rows``. Returns the rows, vehicle codes
    (int32), ts, lat and lon in that order. With ``threads`` > 1 the work runs in that many threads:
    each counts and writes one block of the rows, block b's rows of a vehicle after block b-1's (so
    the order stays stable), then each sorts the slices of a block of vehicles holding about an
    equal share of the fixes. The arrays are the same for any number."""
    n = rows.size
    with _Blocks(n, threads) as blocks:
        cuts = blocks.cuts
        start, fills, bounds = blocks.layout(blocks.each(_count_codes, rows, codes, after=(n_groups,)), n_groups)
        r = np.empty(n, dtype=np.int64)
        t = np.empty(n, dtype=np.int64)
        la = np.empty(n)
        lo = np.empty(n)
        blocks.map(_scatter, [(rows, codes, ts, lat, lon, cuts[b], cuts[b + 1], fills[b], r, t, la, lo) for b in range(blocks.k)])
        blocks.map(_sort_groups, [(start, bounds[j], bounds[j + 1], r, t, la, lo) for j in range(bounds.size - 1)])
    c = np.repeat(np.arange(n_groups, dtype=np.int32), np.diff(start))
    return r, c, t, la, lo


@njit(cache=True, nogil=True)
def _few_out_of_order(r, t, a, b, late, buf_r, buf_t):
    """Put rows ``a..b-1`` (one vehicle, input order) in stable time order when they are in order
    but for a few (at most one in 64) that come after a later time: those are taken out, sorted
    (stably) and merged back, in time linear in the slice. Returns False, changing nothing, when
    there are more of them (a radix sort is then the cheaper way)."""
    k = b - a
    limit = k // 64
    d = 0
    top = t[a]
    for i in range(a + 1, b):
        if t[i] < top:
            if d >= limit:
                return False
            late[d] = i
            d += 1
        else:
            top = t[i]
    if d == 0:
        return True
    lt = np.empty(d, dtype=np.int64)
    for j in range(d):
        lt[j] = t[late[j]]
    by_time = np.argsort(lt, kind="mergesort")  # stable: equal times keep their input order
    x = a  # next row of the in-order rest
    y = 0  # next of the late rows, by time
    nxt = 0  # next late row in input order (skipped when walking the rest)
    for o in range(k):
        while nxt < d and x == late[nxt]:
            x += 1
            nxt += 1
        take_late = False
        if y < d:
            q = late[by_time[y]]
            # the stable order is by (time, input row): the input position breaks ties
            if x >= b or t[q] < t[x] or (t[q] == t[x] and q < x):
                take_late = True
        if take_late:
            buf_r[o] = r[q]
            buf_t[o] = t[q]
            y += 1
        else:
            buf_r[o] = r[x]
            buf_t[o] = t[x]
            x += 1
    r[a:b] = buf_r[:k]
    t[a:b] = buf_t[:k]
    return True


@njit(cache=True, nogil=True)
def _count_table(codes, k0, k1, n_slots):
    """How many of rows ``k0..k1-1`` each slot ``code + 1`` has (slot 0: no vehicle)."""
    counts = np.zeros(n_slots, dtype=np.int64)
    for i in range(k0, k1):
        counts[codes[i] + 1] += 1
    return counts


@njit(cache=True, nogil=True)
def _scatter_table(codes, ts, k0, k1, fill, r, t):
    for i in range(k0, k1):
        g = codes[i] + 1
        q = fill[g]
        fill[g] = q + 1
        r[q] = i
        t[q] = ts[i]


@njit(cache=True, nogil=True)
def _order_table_slots(start, g0, g1, r, t):
    """Put the rows of slots ``g0..g1-1`` in time order and move the kept ones (the first of equal
    (vehicle, ts)) to the front of the slots' span of ``r``; returns how many, the repeats dropped
    and the descents of the row number between neighbours of one vehicle."""
    longest = 0
    for g in range(g0, g1):
        longest = max(longest, start[g + 1] - start[g])
    key = np.empty(longest, dtype=np.int64)
    key2 = np.empty(longest, dtype=np.int64)
    perm = np.empty(longest, dtype=np.int64)
    perm2 = np.empty(longest, dtype=np.int64)
    buf_r = np.empty(longest, dtype=np.int64)
    buf_t = np.empty(longest, dtype=np.int64)
    counts = np.empty((1 << MAX_RADIX_BITS) + 1, dtype=np.int64)
    w = start[g0]  # next kept row; never past the row read, so r[i - 1] is still the sorted one
    repeats = 0
    descents = 0
    for g in range(g0, g1):
        a = start[g]
        b = start[g + 1]
        k = b - a
        if k >= 2 and not _few_out_of_order(r, t, a, b, perm, buf_r, buf_t) \
                and _slice_order(t, a, b, key, key2, perm, perm2, counts):
            for i in range(k):
                p = a + perm[i]
                buf_r[i] = r[p]
                buf_t[i] = t[p]
            r[a:b] = buf_r[:k]
            t[a:b] = buf_t[:k]
        for i in range(a, b):
            if i > a:
                if r[i] < r[i - 1]:
                    descents += 1
                if t[i] == t[i - 1]:
                    repeats += 1
                    continue
            r[w] = r[i]
            w += 1
    return w - start[g0], repeats, descents


def table_order(codes, ts, n_groups, threads: int = 1):
    """The rows of a fix table to keep, in stable (vehicle code, ts) order, first of equal (vehicle,
    ts) kept: what ``np.lexsort((ts, codes))`` then dropping repeats gives, without a global sort
    (a counting pass by vehicle, then each vehicle's rows by time: see ``group_sort``, whose
    blocks of rows and of vehicles it shares in ``threads`` threads). Codes are in -1..n_groups-1
    (-1, a missing vehicle, first). Returns the kept rows, how many repeats were dropped, and how
    many rows came in the file after a later row of their vehicle (a descent of the row number
    between neighbours of one vehicle)."""
    n = codes.size
    with _Blocks(n, threads) as blocks:
        cuts = blocks.cuts
        start, fills, bounds = blocks.layout(blocks.each(_count_table, codes, after=(n_groups + 1,)), n_groups + 1)
        r = np.empty(n, dtype=np.int64)
        t = np.empty(n, dtype=np.int64)
        blocks.map(_scatter_table, [(codes, ts, cuts[b], cuts[b + 1], fills[b], r, t) for b in range(blocks.k)])
        parts = blocks.map(_order_table_slots, [(start, bounds[j], bounds[j + 1], r, t) for j in range(bounds.size - 1)])
    del t
    repeats = sum(int(p[1]) for p in parts)
    descents = sum(int(p[2]) for p in parts)
    if len(parts) == 1:
        return r[:parts[0][0]], repeats, descents
    keep = np.concatenate([r[start[bounds[j]]:start[bounds[j]] + parts[j][0]] for j in range(len(parts))])
    return keep, repeats, descents
