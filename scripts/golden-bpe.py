#!/usr/bin/env python3
"""Golden data for test/bpe.test.ts: Hugging Face `tokenizers` BPE as the reference.

    pip install tokenizers      # tested with 0.23.3
    python3 scripts/golden-bpe.py [PTB_TRAIN]   # default data/ptb/ptb.train.txt

Writes under test/golden/bpe/:
  ptb-corpus.txt   lines 1-1500 of PTB's training split (the training corpus)
  ptb-test.txt     lines 1501-1600 (the test text; only lines whose characters all occur in the corpus,
                   because HF's BPE without an unknown token silently drops unseen characters)
  unicode-corpus.txt, unicode-test.txt
                   a small seeded corpus of accented, CJK and emoji (astral, surrogate-pair) words
  ptb.json, unicode.json
                   {"tokenizers": version, "runs": [{"min_frequency": F, "merges": [[a, b], ...]}],
                    "encodings": [[piece, ...] per test line]}  (encodings with the min_frequency 2 merges)

Reference setup: models.BPE() trained by trainers.BpeTrainer(vocab_size=10**6, min_frequency=F) behind
pre_tokenizers.Metaspace(replacement='\u2581', prepend_scheme='always', split=True), no normalizer,
no special tokens. Lines are whitespace-split and re-joined with single spaces, so every word becomes
'\u2581' + word, the marker being a symbol of its own (as in SentencePiece), which quire's trainBpe
reproduces. Training runs until no pair occurs F times (the vocabulary size never binds).
"""
import json
import random
import sys
from pathlib import Path

import tokenizers
from tokenizers import Tokenizer, models, pre_tokenizers, trainers

OUT = Path(__file__).resolve().parent.parent / 'test' / 'golden' / 'bpe'
MARK = '\u2581'


def tokenizer():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=MARK, prepend_scheme='always', split=True)
    return tok


def train(lines, min_frequency):
    tok = tokenizer()
    trainer = trainers.BpeTrainer(vocab_size=10**6, min_frequency=min_frequency, show_progress=False, special_tokens=[])
    tok.train_from_iterator(lines, trainer)
    model = json.loads(tok.to_str())['model']
    merges = [m.split(' ') if isinstance(m, str) else m for m in model['merges']]
    alphabet = {c for line in lines for w in line.split() for c in MARK + w}
    # Distinct merge results: HF reuses the id of a token formed twice (e.g. 'a'+'bc' and 'ab'+'c'),
    # and then its queue can repeat a merge. The golden corpora are chosen so this does not happen.
    results = [a + b for a, b in merges]
    assert len(set(results)) == len(results), 'a token is formed by two different merges'
    assert len(model['vocab']) == len(alphabet) + len(merges), (len(model['vocab']), len(alphabet), len(merges))
    return tok, merges


def golden(name, corpus, test):
    corpus = [' '.join(l.split()) for l in corpus if l.split()]
    alphabet = {c for line in corpus for c in line}
    test = [' '.join(l.split()) for l in test if l.split() and set(l) - {' ', '\n'} <= alphabet]
    for l in corpus[:50] + test:
        pre = [p for p, _ in tokenizer().pre_tokenizer.pre_tokenize_str(l)]
        assert pre == [MARK + w for w in l.split(' ')], (l, pre)
    runs = []
    for f in (2, 5):
        tok, merges = train(corpus, f)
        runs.append({'min_frequency': f, 'merges': merges})
        if f == 2:
            encodings = [tok.encode(l).tokens for l in test]
            for l, e in zip(test, encodings):
                assert ''.join(e) == ''.join(MARK + w for w in l.split(' ')), (l, e)
    (OUT / f'{name}-corpus.txt').write_text('\n'.join(corpus) + '\n', encoding='utf-8')
    (OUT / f'{name}-test.txt').write_text('\n'.join(test) + '\n', encoding='utf-8')
    data = {'tokenizers': tokenizers.__version__, 'runs': runs, 'encodings': encodings}
    (OUT / f'{name}.json').write_text(json.dumps(data, ensure_ascii=False, indent=0) + '\n', encoding='utf-8')
    print(f'{name}: {len(corpus)} corpus lines, {len(test)} test lines, merges ' + ', '.join(f"{len(r['merges'])} (min {r['min_frequency']})" for r in runs))


def unicode_lines(seed, n):
    rng = random.Random(seed)
    stems = ['café', 'naïve', 'über', 'señor', 'crème', 'brûlée', 'Ærø', '東京', '東京都', '京都', '大阪', '日本語',
             '中文', '한국어', 'Ελλάδα', 'Москва', 'مرحبا', '😀', '👍🏽', '🎉🎉', 'a😀b', '𝔘𝔫𝔦', 'x\ufffdy', 'ﬁne']
    suffixes = ['', '', 's', '😀', '都', 'é', 'ing', '🏽']
    lines = []
    for _ in range(n):
        words = []
        for _ in range(rng.randint(3, 9)):
            s = rng.choice(stems[: rng.randint(1, len(stems))])  # earlier stems more frequent
            words.append(s + rng.choice(suffixes))
        lines.append(' '.join(words))
    return lines


def main():
    ptb = Path(sys.argv[1] if len(sys.argv) > 1 else 'data/ptb/ptb.train.txt').read_text(encoding='utf-8').split('\n')
    OUT.mkdir(parents=True, exist_ok=True)
    golden('ptb', ptb[:1500], ptb[1500:1600])
    golden('unicode', unicode_lines(21, 400), unicode_lines(22, 40))


if __name__ == '__main__':
    main()
