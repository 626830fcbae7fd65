"""melange-lab's pure-Python subset of ``cryptography``, served to Pyodide by the Lite site:
RSA keys, PKCS #1 v1.5 signatures and X.509 certificates, as moto's SNS and melange-lab's
envelope signing use them (see ``lite/pure_cryptography/README.md``)."""

__version__ = "46.0.0+melangelab"
