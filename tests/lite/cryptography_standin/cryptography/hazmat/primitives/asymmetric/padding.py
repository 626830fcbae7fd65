class PKCS1v15:
    name = "EMSA-PKCS1-v1_5"
