class HashAlgorithm:
    name = "hash"


class SHA256(HashAlgorithm):
    name = "sha256"


class SHA1(HashAlgorithm):
    name = "sha1"
