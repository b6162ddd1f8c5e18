"""Learning byte-pair merges from a table of word counts, incrementally.

The textbook loop is: count every adjacent pair of tokens in the corpus, merge the most frequent pair everywhere,
repeat. Recounting the whole corpus for each of thousands of merges is what makes naive BPE slow. This trainer keeps
the counts up to date instead:

- The corpus is a table of distinct pre-tokenized words with their frequencies. Each word is a list of token ids,
  starting as its UTF-8 bytes (ids 0..255). Code repeats itself, so 30 MB of source is only ~180k distinct words.
- `pair_counts[(left, right)]` is how often the pair occurs, each word weighted by its frequency.
- `words_with_pair[(left, right)]` lists the words containing the pair, so a merge visits only the words it
  changes, and in them only the pairs next to each merge change their counts (see `merge_in_words`).
- A heap yields the most frequent pair. When a count changes, a fresh heap entry is pushed and the old one goes stale;
  stale entries are recognised (their count no longer matches) and skipped when popped.

Ties are broken deterministically: the heap orders entries by (-count, left id, right id), so among equally frequent
pairs the one with the smallest ids is merged first, whatever the order of dicts and sets.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Mapping

from tqdm import tqdm

Pair = tuple[int, int]
Merge = tuple[int, int, int]  # (left id, right id, merged id)


def merge_in_words(
    words: list[list[int]],
    freqs: list[int],
    word_indices: Iterable[int],
    merge: Merge,
    pair_counts: dict[Pair, int],
    words_with_pair: defaultdict[Pair, set[int]],
) -> set[Pair]:
    """Merge `left, right` into `merged` in the given words (left to right, non-overlapping) and update the pair
    statistics where the word changed. Returns the pairs whose count changed.

    Only neighbours of a merge change: in `x a b y`, merging `a b` into `M` turns the pairs `(x, a)` and `(b, y)`
    into `(x, M)` and `(M, y)`. The left neighbour is read from the already-merged output, so in `a b a b` the second
    merge turns `(M, a)`, added by the first, into `(M, M)`. The count of `(a, b)` itself is not tracked here: the
    caller drops that pair. A word may stay listed under a pair it no longer contains; visiting it later is harmless,
    as its merge finds nothing to do.
    """
    left, right, merged = merge
    changed: set[Pair] = set()
    for word_index in word_indices:
        symbols, freq = words[word_index], freqs[word_index]
        out: list[int] = []
        i, last = 0, len(symbols) - 1
        while i <= last:
            if i < last and symbols[i] == left and symbols[i + 1] == right:
                if out:
                    before = out[-1]
                    pair_counts[before, left] -= freq
                    pair_counts[before, merged] = pair_counts.get((before, merged), 0) + freq
                    words_with_pair[before, merged].add(word_index)
                    changed.update(((before, left), (before, merged)))
                if i + 2 <= last:
                    after = symbols[i + 2]
                    pair_counts[right, after] -= freq
                    pair_counts[merged, after] = pair_counts.get((merged, after), 0) + freq
                    words_with_pair[merged, after].add(word_index)
                    changed.update(((right, after), (merged, after)))
                out.append(merged)
                i += 2
            else:
                out.append(symbols[i])
                i += 1
        words[word_index] = out
    return changed


def learn_merges(
    word_counts: Mapping[str, int], n_tokens: int, min_pair_count: int = 2, progress: bool = False
) -> tuple[list[Merge], list[bytes]]:
    """Learn merges until the vocabulary holds `n_tokens` tokens (256 bytes included) or no pair occurs
    `min_pair_count` times. Returns the merges in the order learned and the bytes of every token, indexed by id.

    Two different merges can spell the same bytes (`a`+`bc` and `ab`+`c`); the second reuses the first one's id,
    as Hugging Face `tokenizers` does, so each byte string has exactly one id.
    """
    token_bytes = [bytes([byte]) for byte in range(256)]
    id_of_bytes = {token: token_id for token_id, token in enumerate(token_bytes)}
    words = [list(word.encode("utf-8")) for word in word_counts]
    freqs = list(word_counts.values())

    pair_counts: dict[Pair, int] = {}
    words_with_pair: defaultdict[Pair, set[int]] = defaultdict(set)
    for word_index, (symbols, freq) in enumerate(zip(words, freqs, strict=True)):
        for pair in zip(symbols, symbols[1:]):
            pair_counts[pair] = pair_counts.get(pair, 0) + freq
            words_with_pair[pair].add(word_index)
    heap = [(-count, pair) for pair, count in pair_counts.items()]
    heapq.heapify(heap)

    merges: list[Merge] = []
    bar = tqdm(total=max(n_tokens - len(token_bytes), 0), desc="merging", unit="merge", disable=not progress)
    while len(token_bytes) < n_tokens and heap:
        negative_count, pair = heapq.heappop(heap)
        if pair_counts.get(pair) != -negative_count:
            continue  # stale entry: this pair's count changed after the entry was pushed
        if -negative_count < min_pair_count:
            break
        left, right = pair
        new_bytes = token_bytes[left] + token_bytes[right]
        merged = id_of_bytes.get(new_bytes)
        if merged is None:
            merged = id_of_bytes[new_bytes] = len(token_bytes)
            token_bytes.append(new_bytes)
            bar.update()
        merges.append((left, right, merged))

        changed = merge_in_words(words, freqs, words_with_pair.pop(pair), merges[-1], pair_counts, words_with_pair)
        del pair_counts[pair]
        changed.discard(pair)
        for changed_pair in changed:
            count = pair_counts[changed_pair]
            if count > 0:
                heapq.heappush(heap, (-count, changed_pair))
            else:
                del pair_counts[changed_pair]
                words_with_pair.pop(changed_pair, None)
    bar.close()
    return merges, token_bytes
