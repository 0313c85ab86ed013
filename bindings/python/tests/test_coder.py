"""Spec §6–§7: frequency tables and the arithmetic coder, the seed's
4-symbol round trip and a verify_roundtrip-style loop over real logits."""
import numpy as np

import czip


def test_four_symbol_round_trip():
    freqs = np.array([1, 2, 3, 4], dtype=np.uint32)
    cumfreqs = np.concatenate([[0], np.cumsum(freqs)]).astype(np.uint32)  # leading 0
    total = int(cumfreqs[-1])
    symbols = [0, 1, 2, 3, 3, 2, 1, 0, 3, 3, 3, 2]
    enc = czip.ArithEncoder()
    for s in symbols:
        enc.encode_symbol(cumfreqs, s, total)
    data = enc.finish()
    assert isinstance(data, bytes) and len(data) > 0
    dec = czip.ArithDecoder(data)
    assert [dec.decode_symbol(cumfreqs, total) for _ in symbols] == symbols
    # the upstream's inclusive form (no leading 0) codes the same bytes
    enc2 = czip.ArithEncoder()
    for s in symbols:
        enc2.encode_symbol(cumfreqs[1:], s, total)
    assert enc2.finish() == data


def test_build_cumfreqs_leading_zero():
    logits = np.array([5, 5, 5, 5], dtype=np.int32)
    cum, total = czip.build_cumfreqs(logits, 4, target_total=1003)
    assert cum.dtype == np.uint32 and cum.shape == (5,)
    assert cum[0] == 0 and cum[-1] == total == 1003
    assert np.all(np.diff(cum.astype(np.int64)) >= 1)


def test_verify_roundtrip_over_real_logits(v001):
    text = "Alice was beginning to get very tired of sitting by her sister on the bank."
    tokens = v001.tokenize(text)
    assert tokens.dtype == np.uint32
    logits = v001.logits(tokens)
    assert logits.dtype == np.int32 and logits.shape == (len(tokens), v001.vocab_size)
    enc = czip.ArithEncoder()
    tables = []
    for pos, tok in enumerate(tokens):
        cum, total = czip.build_cumfreqs(logits[pos], v001.vocab_size, coef_q24=v001.coef_q24, target_total=v001.target_total)
        m_cum, m_total = v001.get_cumfreqs(logits[pos])
        assert m_total == total and np.array_equal(m_cum, cum)
        tables.append((cum, total))
        enc.encode_symbol(cum, int(tok), total)
    data = enc.finish()
    dec = czip.ArithDecoder(data)
    decoded = [dec.decode_symbol(c, t) for c, t in tables]
    assert decoded == tokens.tolist()
    # the engine's own chunk coder wrote the same bytes: they are chunk 0 of the file
    f = czip.CompressedFile.from_bytes(czip.compress(text, v001))
    assert f.chunks[0] == data
