#!/usr/bin/env python3
"""An independent cosign-format signer and verifier, for strata's tests.

Written from cosign's specs/SIGNATURE_SPEC.md and go-securesystemslib's sealed-key format, on
pyca/cryptography (ECDSA P-256, PKCS#8), PyNaCl (secretbox) and hashlib (scrypt) -- none of
strata's code or crates. It talks to a plain-HTTP registry (the loopback one of the tests).

  cosign_like.py generate NAME PASSWORD              write NAME.key / NAME.pub as cosign does
  cosign_like.py public KEY PASSWORD                  print the public key of a sealed key
  cosign_like.py sign REGISTRY REPO DIGEST KEY PASSWORD [CLAIMED]
                                                      (CLAIMED: the digest the payload names)
  cosign_like.py verify REGISTRY REPO DIGEST PUB      exit 0 if a valid signature by PUB exists
  cosign_like.py attestation REGISTRY REPO DIGEST PUB PREDICATE_TYPE
                                                      print the predicate of a valid attestation
                                                      (DSSE over in-toto, in `.att`), exit 1 if none
"""

import base64
import hashlib
import json
import os
import sys
import urllib.error
import urllib.request

import nacl.secret
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
ANNOTATION = "dev.cosignproject.cosign/signature"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
LABELS = ("ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY")


def pem_body(text):
    lines = text.strip().splitlines()
    label = lines[0][len("-----BEGIN "):-len("-----")]
    return label, base64.b64decode("".join(lines[1:-1]))


def pem(label, body):
    encoded = base64.b64encode(body).decode()
    chunks = [encoded[i:i + 64] for i in range(0, len(encoded), 64)]
    return "-----BEGIN %s-----\n%s\n-----END %s-----\n" % (label, "\n".join(chunks), label)


def seal(plaintext, password):
    salt, nonce = os.urandom(32), os.urandom(24)
    secret = hashlib.scrypt(password.encode(), salt=salt, n=32768, r=8, p=1, dklen=32, maxmem=64 << 20)
    # PyNaCl's encrypt returns nonce || tag || ciphertext; the format keeps the nonce apart.
    sealed = nacl.secret.SecretBox(secret).encrypt(plaintext, nonce).ciphertext
    return json.dumps({
        "kdf": {"name": "scrypt", "params": {"N": 32768, "r": 8, "p": 1},
                "salt": base64.b64encode(salt).decode()},
        "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode()},
        "ciphertext": base64.b64encode(sealed).decode(),
    }).encode()


def unseal(path, password):
    label, body = pem_body(open(path).read())
    assert label in LABELS, label
    sealed = json.loads(body)
    params = sealed["kdf"]["params"]
    secret = hashlib.scrypt(password.encode(), salt=base64.b64decode(sealed["kdf"]["salt"]),
                            n=params["N"], r=params["r"], p=params["p"], dklen=32,
                            maxmem=256 << 20)
    der = nacl.secret.SecretBox(secret).decrypt(base64.b64decode(sealed["ciphertext"]),
                                                base64.b64decode(sealed["cipher"]["nonce"]))
    return serialization.load_der_private_key(der, password=None)


def request(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    return urllib.request.urlopen(req)


def upload(registry, repo, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    start = request("POST", "http://%s/v2/%s/blobs/uploads/" % (registry, repo), b"")
    location = start.headers["Location"]
    if location.startswith("/"):
        location = "http://%s%s" % (registry, location)
    separator = "&" if "?" in location else "?"
    request("PUT", "%s%sdigest=%s" % (location, separator, digest), data,
            {"Content-Type": "application/octet-stream"})
    return digest


def tag_of(digest):
    return digest.replace(":", "-") + ".sig"


def fetch_manifest(registry, repo, reference):
    try:
        response = request("GET", "http://%s/v2/%s/manifests/%s" % (registry, repo, reference),
                           headers={"Accept": OCI_MANIFEST})
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise
    return json.loads(response.read())


def generate(name, password):
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    with open(name + ".key", "w") as file:
        file.write(pem("ENCRYPTED SIGSTORE PRIVATE KEY", seal(der, password)))
    with open(name + ".pub", "wb") as file:
        file.write(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo))


def public(path, password):
    key = unseal(path, password)
    sys.stdout.write(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode())


def sign(registry, repo, digest, key_path, password, claimed=None):
    key = unseal(key_path, password)
    payload = json.dumps({"critical": {"identity": {"docker-reference": "%s/%s" % (registry, repo)},
                                       "image": {"docker-manifest-digest": claimed or digest},
                                       "type": "cosign container image signature"},
                          "optional": None}).encode()
    signature = base64.b64encode(key.sign(payload, ec.ECDSA(hashes.SHA256()))).decode()
    layer = upload(registry, repo, payload)
    config = json.dumps({"architecture": "", "os": "", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": [layer]}}).encode()
    config_digest = upload(registry, repo, config)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": len(config),
                   "digest": config_digest},
        "layers": [{"mediaType": SIMPLE_SIGNING, "size": len(payload), "digest": layer,
                    "annotations": {ANNOTATION: signature}}],
    }).encode()
    request("PUT", "http://%s/v2/%s/manifests/%s" % (registry, repo, tag_of(digest)), manifest,
            {"Content-Type": OCI_MANIFEST})


def verify(registry, repo, digest, pub_path):
    key = serialization.load_pem_public_key(open(pub_path, "rb").read())
    manifest = fetch_manifest(registry, repo, tag_of(digest))
    if manifest is None:
        print("no signature manifest %s" % tag_of(digest))
        return 1
    for layer in manifest.get("layers", []):
        if layer.get("mediaType") != SIMPLE_SIGNING:
            continue
        blob = request("GET", "http://%s/v2/%s/blobs/%s" % (registry, repo, layer["digest"])).read()
        if "sha256:" + hashlib.sha256(blob).hexdigest() != layer["digest"]:
            print("a payload whose bytes do not match its digest")
            continue
        payload = json.loads(blob)
        if payload["critical"]["type"] != "cosign container image signature":
            print("a payload of another type")
            continue
        if payload["critical"]["image"]["docker-manifest-digest"] != digest:
            print("a payload naming another image")
            continue
        signature = base64.b64decode(layer.get("annotations", {}).get(ANNOTATION, ""))
        try:
            key.verify(signature, blob, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            print("a signature the key did not make")
            continue
        print("verified")
        return 0
    return 1


def attestation(registry, repo, digest, pub_path, predicate_type):
    key = serialization.load_pem_public_key(open(pub_path, "rb").read())
    manifest = fetch_manifest(registry, repo, digest.replace(":", "-") + ".att")
    if manifest is None:
        print("no attestation manifest")
        return 1
    for layer in manifest.get("layers", []):
        if layer.get("mediaType") != "application/vnd.dsse.envelope.v1+json":
            continue
        blob = request("GET", "http://%s/v2/%s/blobs/%s" % (registry, repo, layer["digest"])).read()
        envelope = json.loads(blob)
        payload = base64.b64decode(envelope["payload"])
        kind = envelope["payloadType"].encode()
        # DSSE's pre-authentication encoding, from its specification.
        pae = b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)
        for signature in envelope["signatures"]:
            try:
                key.verify(base64.b64decode(signature["sig"]), pae, ec.ECDSA(hashes.SHA256()))
            except InvalidSignature:
                continue
            statement = json.loads(payload)
            subjects = [subject["digest"].get("sha256") for subject in statement["subject"]]
            if statement["predicateType"] == predicate_type and digest.split(":")[1] in subjects:
                print(json.dumps(statement["predicate"]))
                return 0
    print("no valid attestation of that type")
    return 1


if __name__ == "__main__":
    command, arguments = sys.argv[1], sys.argv[2:]
    if command == "generate":
        generate(*arguments)
    elif command == "public":
        public(*arguments)
    elif command == "sign":
        sign(*arguments)
    elif command == "verify":
        sys.exit(verify(*arguments))
    elif command == "attestation":
        sys.exit(attestation(*arguments))
    else:
        sys.exit("unknown command " + command)
