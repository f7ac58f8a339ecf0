"""Token-level text draws: the model's input ids assembled from cached per-word token ids.

A subword tokenizer whose pre-tokenizer splits on whitespace (WordPiece, byte-level BPE,
SentencePiece's Metaspace) tokenizes ``" ".join(words)`` as the concatenation of each word's
tokens *in its context*: the first word alone, every later word after a space (byte-level
BPE and SentencePiece put the space into the word's first token, so a word's ids depend on
whether it starts the text). :class:`WordPieces` caches those ids per word and context; a
draw (a word edit, :mod:`textrobust.text.edits`) then becomes its ids by joining cached byte
strings, and only words no draw had before (typos, synonyms) go through the tokenizer, all of
a batch's in one call. :class:`TokenDraw` is the engine input: the ids (``bytes`` of int32,
the dedup key) and how to rebuild the text (only flipped draws need it).

Exactness: :func:`check_tokenizer` runs at set-up on probe texts and tells why the path would
not be exact (then the caller falls back to string tokenization with one warning line), and
each example is checked once when first seen (its word-by-word ids against the tokenizer's
ids of the re-joined text); an example that fails is tokenized as a string, draw by draw.
Truncation and special tokens are applied at assembly (:class:`TokenInputs`) exactly as the
tokenizer does for one sequence: cut to ``max_length`` minus the special tokens, then
``prefix + ids + suffix``.
"""

from __future__ import annotations

import json
import re
from array import array
from collections import OrderedDict
from typing import Any, Callable, Sequence

import numpy as np

from textrobust.core.perturbation import Perturbation
from textrobust.text.edits import Edit, Parsed, expand, parse, runs

PROBES = (
    "Hello world , it 's a test-case .",
    "The QUICK brown fox (jumped) over 3.5 lazy dogs!",
    "naïve café — déjà vu, isn't it?",
    "un-believ-able wordsmithery   and\tmore",
    "x",
    "a b c d e f g h i j k l m n o p",
)


def _pack(ids: Sequence[int]) -> bytes:
    return array("i", ids).tobytes()


class TokenDraw:
    """A draw's token ids (``ids``: int32 bytes, no special tokens) with what rebuilds its text.

    The ids are a plain ``bytes`` attribute, not the draw itself: they are the engine's dedup
    key, and a cache of plain bytes holds no object the garbage collector has to scan (the
    draws themselves live only as long as their round). One slotted object per draw."""

    __slots__ = ("ids", "source", "words")

    def __init__(self, ids: bytes, source: str, words: Edit) -> None:
        self.ids = ids
        self.source = source
        self.words = words

    @property
    def text(self) -> str:
        """The draw's text: the source when unchanged, else its words joined by spaces."""
        return self.source if self.words is None else " ".join(self.words)


def text_of(x: Any) -> Any:
    """The text of an engine input (a :class:`TokenDraw` or a plain text)."""
    return x.text if isinstance(x, TokenDraw) else x


def _plain_backend(tokenizer: Any) -> Any:
    """A copy of a fast tokenizer's backend with padding and truncation off (``None`` if slow)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None or not hasattr(backend, "to_str"):
        return None
    from tokenizers import Tokenizer

    copy = Tokenizer.from_str(backend.to_str())
    copy.no_padding()
    copy.no_truncation()
    return copy


WORD_PROBES = (
    "hello",
    "Worldly",
    "xqzvtt",
    "abc123",
    "UNAFFABLE",
    "a",
    "Tmeo",
    "qu1ckly",
    "x" * 120,
    "don't",
    "(jumped)",
    "test-case.",
    "with child",
    "$3.50!",
    "a_b~c",
    "...",
    "[CLS]",
    "x[MASK]y",
)
#: What the BERT pre-tokenizer makes of printable ASCII: runs of letters and digits, and every
#: other non-space character on its own (all of them are punctuation to it); spaces split.
_BERT_ASCII_PIECES = re.compile(r"[A-Za-z0-9]+|[^A-Za-z0-9 ]")


def _wordpiece_words(backend: Any) -> tuple[Callable[[str], list[int]], Callable[[str], bool]] | None:
    """For a BERT-style WordPiece backend (``BertNormalizer``, ``BertPreTokenizer``, no added
    token that is a plain word): the ids of a printable ASCII word straight from the WordPiece
    model, which is what the whole pipeline gives such a word (the normalizer only lowercases
    it; the pre-tokenizer splits it into letter-and-digit runs and single other characters).
    Returns ``(word_ids, plain)``: ``plain(word)`` says whether ``word_ids`` applies (printable
    ASCII holding no added token such as ``[CLS]``, which the pipeline keeps whole). ``None``
    for any other tokenizer, or when a probe word's ids differ from the pipeline's."""
    try:
        spec = json.loads(backend.to_str())
    except Exception:  # noqa: BLE001 - no serialised form: no fast path
        return None
    model, normalizer, pre = (spec.get(k) or {} for k in ("model", "normalizer", "pre_tokenizer"))
    if (
        model.get("type") != "WordPiece"
        or normalizer.get("type") != "BertNormalizer"
        or pre.get("type") != "BertPreTokenizer"
    ):
        return None
    added = [str(t.get("content", "")) for t in spec.get("added_tokens") or ()]
    if any(t.isalnum() for t in added):
        return None
    added_lower = tuple({t.lower() for t in added if t})

    def plain(word: str) -> bool:
        if not (word.isascii() and word.isprintable()):
            return False
        lowered = word.lower()
        return not any(t in lowered for t in added_lower)

    lower = bool(normalizer.get("lowercase"))
    tokenize = backend.model.tokenize
    pieces = _BERT_ASCII_PIECES.findall

    def word_ids(word: str) -> list[int]:
        word = word.lower() if lower else word
        if word.isalnum():
            return [t.id for t in tokenize(word)]
        return [t.id for piece in pieces(word) for t in tokenize(piece)]

    probes = [w for w in WORD_PROBES if plain(w)]
    expected = backend.encode_batch(probes, add_special_tokens=False)
    if any(word_ids(w) != e.ids for w, e in zip(probes, expected)):
        return None
    return word_ids, plain


class Source:
    """One example's token view: its parse, the tokenizer's ids of the text as it is, whether
    word-by-word assembly is exact for it, and its unchanged draw."""

    __slots__ = ("parsed", "text", "ids", "exact", "clean")

    def __init__(self, parsed: Parsed, ids: bytes, exact: bool) -> None:
        self.parsed = parsed
        self.text = parsed.text
        self.ids = ids
        self.exact = exact
        self.clean = TokenDraw(ids, parsed.text, None)


class WordPieces:
    """Cached token ids of words for one tokenizer: ``first[word]`` when the word starts the
    text, ``later[word]`` after a space (one table for a BERT WordPiece tokenizer, where a
    word's ids do not depend on its place); and the :class:`Source` of each text seen."""

    def __init__(self, tokenizer: Any, *, max_words: int = 400_000, max_sources: int = 8192) -> None:
        self.tokenizer = tokenizer
        self.first: dict[str, bytes] = {}
        self.later: dict[str, bytes] = {}
        self.max_words = max_words
        self.max_sources = max_sources
        self._sources: OrderedDict[str, Source] = OrderedDict()
        self.fallback_examples = 0  # examples tokenized as strings (not exact word by word)
        self._backend: Any = False  # made on first use (copying a backend takes milliseconds)
        self._word_ids: Callable[[str], list[int]] | None = None  # plain words without the pipeline
        self._plain: Callable[[str], bool] = lambda word: False

    def _ensure_backend(self) -> Any:
        if self._backend is False:
            self._backend = _plain_backend(self.tokenizer)
            fast = None if self._backend is None else _wordpiece_words(self._backend)
            if fast is not None:
                self._word_ids, self._plain = fast
                self.later.update(self.first)  # a word's ids do not depend on its place: one table
                self.first = self.later
        return self._backend

    def encode(self, texts: Sequence[str]) -> list[bytes]:
        """The tokenizer's ids of each text (no special tokens, no truncation), packed.

        A fast tokenizer's Rust backend is called directly (a private copy, without padding
        or truncation): the same ids without the Python cost per text of the wrapper."""
        if not texts:
            return []
        backend = self._ensure_backend()
        if backend is not None:
            encode = getattr(backend, "encode_batch_fast", backend.encode_batch)  # fast: no offsets
            return [_pack(e.ids) for e in encode(list(texts), add_special_tokens=False)]
        out = self.tokenizer(list(texts), add_special_tokens=False, truncation=False, verbose=False)["input_ids"]
        return [_pack(ids) for ids in out]

    def learn(self, first: set[str], later: set[str]) -> None:
        """Tokenize the words not cached yet (one tokenizer call for all of them; a BERT
        WordPiece tokenizer's plain words straight from its model, the same ids)."""
        if len(self.later) + (0 if self.first is self.later else len(self.first)) > self.max_words:  # start afresh
            self.first.clear()
            self.later.clear()
        first = [w for w in first if w not in self.first]
        later = [w for w in later if w not in self.later]
        self._ensure_backend()
        word_ids, plain = self._word_ids, self._plain
        if word_ids is not None:  # WordPiece: a word's ids do not depend on its place
            rest: tuple[list[str], list[str]] = ([], [])
            for cache, words, left in ((self.first, first, rest[0]), (self.later, later, rest[1])):
                for w in words:
                    if plain(w):
                        cache[w] = _pack(word_ids(w))
                    else:
                        left.append(w)
            first, later = rest
        ids = self.encode(first + [" " + w for w in later])
        self.first.update(zip(first, ids[: len(first)]))
        self.later.update(zip(later, ids[len(first) :]))

    def join(self, words: Sequence[str]) -> bytes:
        """The ids of ``" ".join(words)`` from cached words (``KeyError`` if one is not cached)."""
        if not words:
            return b""
        return self.first[words[0]] + b"".join(map(self.later.__getitem__, words[1:]))

    def join_learning(self, words: Sequence[str]) -> bytes:
        """:meth:`join`, tokenizing the words not cached first."""
        try:
            return self.join(words)
        except KeyError:
            self.learn(set(words[:1]), set(words[1:]))
            return self.join(words)

    def source(self, text: str) -> Source:
        """The :class:`Source` of ``text`` (computed once per text, least recently used kept)."""
        hit = self._sources.get(text)
        if hit is not None:
            return hit
        parsed = parse(text)
        words = parsed.words
        ids = self.encode([text])[0]
        joined = self.join_learning(words)
        canonical = " ".join(words)
        exact = joined == (ids if canonical == text else self.encode([canonical])[0])
        if not exact:
            self.fallback_examples += 1
        src = Source(parsed, ids, exact)
        self._sources[text] = src
        if len(self._sources) > self.max_sources:
            self._sources.popitem(last=False)
        return src

    def ids(self, text: str) -> bytes:
        """The ids of a text (cached per text)."""
        return self.source(text).ids

    def _sources_of(self, texts: Sequence[str]) -> list[Source]:
        """The :class:`Source` of each text (a batch holds runs of one example's draws, so
        each run is looked up once)."""
        run_texts, counts = runs(texts)
        return expand([self.source(t) for t in run_texts], counts)

    def draws(self, perturbation: Perturbation, texts: Sequence[str], keys: Sequence[int]) -> list[TokenDraw]:
        """The draws of a word-level ``perturbation`` (with ``edit``) as :class:`TokenDraw`: the
        same edits as ``perturbation.apply(texts, keys)``, assembled from cached word ids."""
        sources = self._sources_of(texts)
        edits = perturbation.edit(texts, keys)  # type: ignore[attr-defined]
        out: list[TokenDraw | None] = [None] * len(texts)
        retry: list[int] = []
        strings: list[int] = []
        first, later = self.first, self.later  # cleared in place by learn (made one table before any draw)
        get_later = later.__getitem__
        one_table = first is later
        for i, (src, (_, words)) in enumerate(zip(sources, edits)):
            if words is None:
                out[i] = src.clean
            elif not src.exact:
                strings.append(i)
            elif not words:
                out[i] = TokenDraw(b"", src.text, words)
            else:
                try:  # inline self.join(words)
                    ids = (
                        b"".join(map(get_later, words))
                        if one_table
                        else first[words[0]] + b"".join(map(get_later, words[1:]))
                    )
                except KeyError:
                    retry.append(i)
                    continue
                out[i] = TokenDraw(ids, src.text, words)
        if retry:
            first_new: set[str] = set()
            later_new: set[str] = set()
            for i in retry:
                words = edits[i][1]
                first_new.add(words[0])
                later_new.update(words[1:])
            self.learn(first_new, later_new)
            for i in retry:
                words = edits[i][1]
                out[i] = TokenDraw(self.join_learning(words), sources[i].parsed.text, words)
        if strings:
            texts_ = [" ".join(edits[i][1]) for i in strings]
            for i, ids in zip(strings, self.encode(texts_)):
                out[i] = TokenDraw(ids, sources[i].parsed.text, edits[i][1])
        return out  # type: ignore[return-value]


def check_tokenizer(tokenizer: Any, probes: Sequence[str] = PROBES, pieces: WordPieces | None = None) -> str | None:
    """Why word-by-word assembly would not reproduce this tokenizer (``None``: it does).

    Checks, on probe texts, that the ids of the re-joined words are the concatenation of the
    words' ids in context, and that the tokenizer puts the same special tokens around every
    single sequence (:func:`~textrobust.text.model.special_affixes`)."""
    from textrobust.text.model import special_affixes

    if not callable(tokenizer):
        return "the tokenizer cannot be called"
    try:
        pieces = pieces or WordPieces(tokenizer)
        prefix, suffix = special_affixes(tokenizer)
        for text in probes:
            words = text.split()
            canonical = " ".join(words)
            full = list(tokenizer(canonical)["input_ids"])
            bare = list(tokenizer(canonical, add_special_tokens=False)["input_ids"])
            if pieces.encode([canonical])[0] != _pack(bare):
                return "the tokenizer's backend gives other ids than the tokenizer"
            if pieces.join_learning(words) != _pack(bare):
                return f"ids of {canonical!r} are not the concatenation of its words' ids"
            if full != prefix + bare + suffix:
                return "special tokens differ between texts"
    except Exception as e:  # noqa: BLE001 - any failure means: use the tokenizer on strings
        return f"{type(e).__name__}: {e}"
    return None


class TokenInputs:
    """The engine's view of token-level text inputs for a :class:`~textrobust.text.model.TextClassifier`:
    ``key`` (ids bytes: identical model inputs are classified once), ``size`` (token count) and
    ``classify`` (ids padded per batch in numpy, as the tokenizer pads and truncates)."""

    def __init__(self, classifier: Any, pieces: WordPieces | None = None) -> None:
        from textrobust.text.model import special_affixes

        self.classifier = classifier
        tokenizer = classifier.tokenizer
        self.pieces = pieces or WordPieces(tokenizer)
        prefix, suffix = special_affixes(tokenizer)
        self.prefix, self.suffix = _pack(prefix), _pack(suffix)
        self.room = max(0, classifier.max_length - len(prefix) - len(suffix))
        pad = getattr(tokenizer, "pad_token_id", None)
        self.pad_id = int(pad) if pad is not None else 0
        self.left = getattr(tokenizer, "padding_side", "right") == "left"
        names = list(getattr(tokenizer, "model_input_names", ["input_ids", "attention_mask"]))
        self.names = [n for n in names if n in ("input_ids", "attention_mask", "token_type_ids")] or [
            "input_ids",
            "attention_mask",
        ]

    @property
    def asynchronous(self) -> bool:
        """Whether the model runs asynchronously to the host (CUDA), so overlap pays."""
        return getattr(self.classifier.device, "type", str(self.classifier.device)) == "cuda"

    def key(self, x: Any) -> bytes:
        """The ids of an input: a :class:`TokenDraw`'s, plain id bytes, or a text's (cached)."""
        if type(x) is TokenDraw:
            return x.ids
        return x if isinstance(x, bytes) else self.pieces.ids(x)

    def size(self, x: Any) -> int:
        """The token count of an input (no special tokens, before truncation)."""
        return len(x.ids if type(x) is TokenDraw else self.key(x)) >> 2

    def assemble(self, rows: Sequence[bytes]) -> dict[str, np.ndarray]:
        """Padded arrays (``input_ids``, ``attention_mask``, ``token_type_ids`` as the
        tokenizer names them) for id rows without special tokens, truncated to fit."""
        cut = self.room * 4
        pre, suf = self.prefix, self.suffix
        flat = np.frombuffer(b"".join([pre + r[:cut] + suf for r in rows]), dtype=np.int32)
        lengths = np.fromiter((min(len(r) >> 2, self.room) for r in rows), dtype=np.int64, count=len(rows))
        lengths += (len(pre) + len(suf)) >> 2
        width = int(lengths.max()) if len(rows) else 0
        cols = np.arange(width)
        mask = cols[None, :] >= (width - lengths)[:, None] if self.left else cols[None, :] < lengths[:, None]
        ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
        ids[mask] = flat
        out = {"input_ids": ids, "attention_mask": mask.astype(np.int64)}
        if "token_type_ids" in self.names:
            out["token_type_ids"] = np.zeros_like(ids)
        return {k: out[k] for k in self.names if k in out}

    def encoded(self, inputs: Sequence[Any]) -> dict[str, Any]:
        """The model's batch for ``inputs`` as CPU torch tensors."""
        import torch

        return {k: torch.from_numpy(v) for k, v in self.assemble([self.key(x) for x in inputs]).items()}

    # The three stages of a batch, so that the engine can prepare batch t+1 on the host while
    # the device runs batch t (Engine.overlap); __call__ runs them in a row.
    def prepare(self, inputs: Sequence[Any]) -> dict[str, Any]:
        """Host stage: the batch as CPU tensors, in pinned memory when the model is on CUDA."""
        batch = self.encoded(inputs)
        if getattr(self.classifier.device, "type", str(self.classifier.device)) == "cuda":
            batch = {k: v.pin_memory() for k, v in batch.items()}
        return batch

    def run(self, batch: dict[str, Any]) -> Any:
        """Device stage: copy (non-blocking) and forward; the predicted model label ids stay on
        the device (on CUDA nothing waits for the result here)."""
        import torch

        clf = self.classifier
        batch = {k: v.to(clf.device, non_blocking=True) for k, v in batch.items()}
        model = clf.model
        was_training = model.training
        if was_training:
            model.eval()
        try:
            with torch.inference_mode():
                return model(**batch).logits.argmax(dim=-1)
        finally:
            if was_training:
                model.train()

    def collect(self, handle: Any) -> np.ndarray:
        """Dataset label ids of a :meth:`run` (waits for the device)."""
        return self.classifier.label_map[handle.cpu().numpy()]

    def __call__(self, inputs: Sequence[Any]) -> np.ndarray:
        return self.collect(self.run(self.prepare(inputs)))

    def classify_ids(self, sequences: Sequence[Sequence[int]]) -> np.ndarray:
        """Dataset label ids for token-id sequences without special tokens (``certify --level
        token``): the same batch as ``TextClassifier.classify_token_ids``, assembled in numpy."""
        return self([_pack(s) for s in sequences])


def token_perturbation(perturbation: Perturbation, pieces: WordPieces) -> Perturbation:
    """The same perturbation (same spec, hence the same streams and edits) drawing
    :class:`TokenDraw` inputs; perturbations without word edits are returned as they are."""
    if getattr(perturbation, "edit", None) is None:
        return perturbation
    return Perturbation(perturbation.spec, perturb_batch=lambda texts, keys: pieces.draws(perturbation, texts, keys))


def token_pipeline(classifier: Any) -> TokenInputs | None:
    """The token-level inputs for ``classifier``, or ``None`` (with one warning line) when its
    tokenizer fails :func:`check_tokenizer` and texts must be tokenized as strings."""
    import warnings

    from textrobust.errors import TextrobustWarning

    tokenizer = getattr(classifier, "tokenizer", None)
    if tokenizer is None or not hasattr(classifier, "predict_encoded"):
        return None
    pieces = WordPieces(tokenizer)
    reason = check_tokenizer(tokenizer, pieces=pieces)
    if reason is not None:
        warnings.warn(
            f"tokenizing every draw as a string (word-by-word token ids would not be exact: {reason})",
            TextrobustWarning,
            stacklevel=2,
        )
        return None
    return TokenInputs(classifier, pieces)
