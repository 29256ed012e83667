from custodian_app.domain.evidence import evidence_digest, sha256_hex


def test_digest_changes_with_any_byte_and_with_counts_absent():
    base = evidence_digest(b"a", b"h", b"c", b"r")
    assert len(base) == 64
    assert evidence_digest(b"a", b"h", b"c", b"r") == base
    assert evidence_digest(b"A", b"h", b"c", b"r") != base
    assert evidence_digest(b"a", b"h", None, b"r") != base
    assert evidence_digest(b"a", b"h", b"c", b"r ") != base


def test_sha256_hex_is_the_standard_one():
    assert sha256_hex(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
