import numpy as np

from mhsa_bio.alphabet import (
    PAD,
    decode,
    encode_batch,
    encode_dna,
    reverse_complement,
    reverse_complement_tokens,
)


def test_encode_and_decode_round_trip():
    seq = "ACGTNACGT"
    assert encode_dna(seq).tolist() == [0, 1, 2, 3, 4, 0, 1, 2, 3]
    assert decode(encode_dna(seq)) == seq


def test_lowercase_and_iupac_codes():
    assert encode_dna("acgtr").tolist() == [0, 1, 2, 3, 4]


def test_batch_pads_with_pad_token():
    tokens, lengths = encode_batch(["ACG", "A"])
    assert lengths.tolist() == [3, 1]
    assert tokens.tolist() == [[0, 1, 2], [0, PAD, PAD]]


def test_reverse_complement_string_and_tokens_agree():
    seqs = ["AACGTTN", "GATTACA"[:4]]
    tokens, lengths = encode_batch(seqs)
    rc = reverse_complement_tokens(tokens, lengths)
    assert [decode(r) for r in rc] == [reverse_complement(s) for s in seqs]
    assert reverse_complement("AACGTTN") == "NAACGTT"
    # involution
    assert np.array_equal(reverse_complement_tokens(rc, lengths), tokens)
