#!/usr/bin/env python3
"""Regenerates the seed corpora in tests/fuzz/corpus/<target>/ (python3 standard library only).

    python3 tests/fuzz/make_corpus.py

Every seed is small and valid for its parser, so a fuzz run starts past the first checks. The output is
deterministic: running the script again gives the same files. Each corpus directory is emptied first, since
everything in it comes from here. fuzz_tbs seeds match the fixed issuer in fuzz_tbs.c (Name CN=x, SKI 5a*20,
key hash 4b*20, parent key hash 50*20, ecdsa-with-SHA256), so they reach the end of the policy checks.
"""
import os
import shutil
import socket
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")

# A real self-signed certificate, made once with OpenSSL 3.0 and kept here so the corpus is reproducible:
#   openssl req -x509 -config r.cnf -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
#       -keyout /dev/null -outform DER -out c.der -days 365
# with r.cnf: [req] prompt=no, distinguished_name=dn ([dn] CN=x), x509_extensions=ext, and [ext]
#   subjectKeyIdentifier = 5a:5a:...:5a (20 bytes), authorityKeyIdentifier = keyid:always,
#   basicConstraints = critical,CA:TRUE,pathlen:0, keyUsage = critical,keyCertSign,cRLSign,digitalSignature,
#   extendedKeyUsage = serverAuth,OCSPSigning
REAL_CERT_HEX = (
    "308201a130820147a003020102021466b06d11d16bd23abb3ff691137d205865046138300a06082a8648ce3d040302300c31"
    "0a300806035504030c0178301e170d3236313132353132303832325a170d3237313132353132303832325a300c310a300806"
    "035504030c01783059301306072a8648ce3d020106082a8648ce3d03010703420004f940dcb3fbb3f9fd116fcc6399f45daa"
    "1cf4ecb5aa6bb0ce8ce275130ba9f59ba57a87cbc6ab637941a5d3b37b379e68f1a9d57501087e27b87eca264b9c6fc2a381"
    "86308183301d0603551d0e041604145a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a301f0603551d230418301680145a5a"
    "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a30120603551d130101ff040830060101ff020100300e0603551d0f0101ff0404"
    "03020186301d0603551d250416301406082b0601050507030106082b06010505070309300a06082a8648ce3d040302034800"
    "3045022100bd743b1985fb36b36325c453572664e404bacb0450feab4b82b562cacc10a0d1022055181546bda0c0f91d996b"
    "9a5e8541af4723af9341768927f2aab895bee0e1fd"
)

# --- DER writing -------------------------------------------------------------------------------------------


def tlv(tag, content):
    n = len(content)
    if n < 0x80:
        hdr = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        hdr = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + hdr + content


def seq(*items):
    return tlv(0x30, b"".join(items))


def set_(*items):
    return tlv(0x31, b"".join(items))


def ctx(n, content, constructed=True):
    return tlv((0xa0 if constructed else 0x80) | n, content)


def oid(dotted):
    arcs = [int(a) for a in dotted.split(".")]
    out = bytes([40 * arcs[0] + arcs[1]])
    for a in arcs[2:]:
        enc = [a & 0x7F]
        a >>= 7
        while a:
            enc.append(0x80 | (a & 0x7F))
            a >>= 7
        out += bytes(reversed(enc))
    return tlv(0x06, out)


def integer(v):
    if isinstance(v, bytes):
        mag = v.lstrip(b"\0") or b"\0"
    else:
        mag = v.to_bytes(max(1, (v.bit_length() + 7) // 8), "big")
    if mag[0] & 0x80:
        mag = b"\0" + mag
    return tlv(0x02, mag)


def octets(b):
    return tlv(0x04, b)


def boolean(v):
    return tlv(0x01, b"\xff" if v else b"\x00")


def bitstring(b, unused=0):
    return tlv(0x03, bytes([unused]) + b)


def utctime(s):
    return tlv(0x17, s.encode())


def gentime(s):
    return tlv(0x18, s.encode())


def enumerated(v):
    return tlv(0x0A, bytes([v]))


def null():
    return tlv(0x05, b"")


def name(cn):
    return seq(set_(seq(oid("2.5.4.3"), tlv(0x0C, cn.encode()))))


def ext(oid_dotted, value, critical=False):
    return seq(oid(oid_dotted), boolean(True) if critical else b"", octets(value))


def first_element(der):
    """The first element inside the outer SEQUENCE of der (whole TLV)."""
    assert der[0] == 0x30
    off = 2 + (der[1] & 0x7F if der[1] & 0x80 else 0)  # skip the outer header
    hdr = der[off + 1]
    if hdr & 0x80:
        n = hdr & 0x7F
        length = int.from_bytes(der[off + 2 : off + 2 + n], "big")
        return der[off : off + 2 + n + length]
    return der[off : off + 2 + hdr]


# --- the fixed issuer of fuzz_tbs.c ------------------------------------------------------------------------

ISSUER = name("x")
KEYID = b"\x5a" * 20
KEY_HASH = b"\x4b" * 20
PARENT_KEY_HASH = b"\x50" * 20
SIGALG = seq(oid("1.2.840.10045.4.3.2"))  # ecdsa-with-SHA256, parameters absent
SERIAL = bytes(range(0x11, 0x21))  # 16 octets, value above 2^64
EC_SPKI = seq(seq(oid("1.2.840.10045.2.1"), oid("1.2.840.10045.3.1.7")), bitstring(b"\x04" + bytes(range(64))))

OID_BC, OID_KU, OID_EKU = "2.5.29.19", "2.5.29.15", "2.5.29.37"
OID_SKI, OID_AKI, OID_SAN = "2.5.29.14", "2.5.29.35", "2.5.29.17"
OID_CRL_NUMBER, OID_REASON = "2.5.29.20", "2.5.29.21"
OID_NC = "2.5.29.30"
EKU_SERVER, EKU_CLIENT, EKU_OCSP = "1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2", "1.3.6.1.5.5.7.3.9"


def aki(keyid, with_issuer=False):
    extra = ctx(1, tlv(0xA4, ISSUER)) + ctx(2, b"\x01", constructed=False) if with_issuer else b""
    return seq(ctx(0, keyid, constructed=False) + extra)


def tbs_cert(serial, validity, subject, exts):
    return seq(ctx(0, integer(2)), integer(serial), SIGALG, ISSUER, validity, subject, EC_SPKI, ctx(3, seq(*exts)))


def tbs_seeds():
    real = first_element(bytes.fromhex(REAL_CERT_HEX))
    leaf = tbs_cert(
        SERIAL,
        seq(utctime("260101000000Z"), utctime("270101000000Z")),
        name("leaf.example"),
        [
            ext(OID_BC, seq()),
            ext(OID_KU, bitstring(b"\xa0", 5), critical=True),  # digitalSignature, keyEncipherment
            ext(OID_EKU, seq(oid(EKU_SERVER), oid(EKU_CLIENT))),
            ext(OID_SKI, octets(b"\x11" * 20)),
            ext(OID_AKI, aki(KEYID)),
            ext(OID_SAN, seq(ctx(2, b"leaf.example", constructed=False))),
        ],
    )
    ca = tbs_cert(
        b"\x7f" + SERIAL,
        seq(utctime("491231235959Z"), gentime("20500101000000Z")),  # across the UTCTime/GeneralizedTime switch
        name("sub CA"),
        [
            ext(OID_BC, seq(boolean(True), integer(0)), critical=True),
            ext(OID_KU, bitstring(b"\x06", 1), critical=True),  # keyCertSign, cRLSign
            ext(OID_SKI, octets(b"\x22" * 20)),
            ext(OID_AKI, aki(KEYID, with_issuer=True)),
        ],
    )
    # a CA with name constraints inside the pins of fuzz_tbs.c's selector 0x04 (ca_permitted .example.com,
    # example.org, 10.0.0.0/8, fd00::/8, ca_permitted_dn /O=Example), and one that excludes every address
    # instead of permitting some
    def subtree(n, value):
        return seq(ctx(n, value, constructed=False))
    dn_team = seq(set_(seq(oid("2.5.4.10"), tlv(0x0C, b"Example"))), set_(seq(oid("2.5.4.11"), tlv(0x0C, b"Team"))))
    names = [subtree(2, b".a.example.com"), subtree(1, b"x@example.org"), subtree(6, b"example.org"),
             seq(ctx(4, dn_team))]
    nc_ip = tlv(0xA0, b"".join(names + [subtree(7, bytes([10, 1, 0, 0, 255, 255, 0, 0]))]))
    nc_none = tlv(0xA0, b"".join(names)) + tlv(0xA1, subtree(7, bytes(8)) + subtree(7, bytes(32)))
    def ca_with_nc(nc):
        return tbs_cert(b"\x7e" + SERIAL, seq(utctime("260101000000Z"), utctime("270101000000Z")), name("nc CA"), [
            ext(OID_BC, seq(boolean(True), integer(0)), critical=True),
            ext(OID_KU, bitstring(b"\x06", 1), critical=True),
            ext(OID_SKI, octets(b"\x23" * 20)),
            ext(OID_AKI, aki(KEYID)),
            ext(OID_NC, seq(nc), critical=True),
        ])
    leaf_validity = seq(utctime("260101000000Z"), utctime("260401000000Z"))

    def leaf_with(serial=SERIAL, exts=None):
        base = [ext(OID_KU, bitstring(b"\x80", 7), critical=True), ext(OID_AKI, aki(KEYID))]
        return tbs_cert(serial, leaf_validity, name("v"), base + (exts or []))

    many_exts = [ext("1.3.6.1.4.1.99999.%d" % i, octets(b"")) for i in range(31)]  # 33 with the two above
    variants = {
        # passes the strict profile: one EKU it allows, digitalSignature only, 90 days
        "cert-strict-pass": b"\x08" + leaf_with(exts=[ext(OID_EKU, seq(oid(EKU_SERVER)))]),
        "cert-serial-short": b"\x00" + leaf_with(serial=5),
        "cert-serial-21-octets": b"\x00" + leaf_with(serial=b"\x01" * 21),
        "cert-ca-bc-not-critical": b"\x00" + leaf_with(exts=[ext(OID_BC, seq(boolean(True), integer(1)))]),
        "cert-ca-no-pathlen": b"\x00" + leaf_with(exts=[ext(OID_BC, seq(boolean(True)), critical=True)]),
        "cert-pathlen-without-ca": b"\x00" + leaf_with(exts=[ext(OID_BC, seq(integer(3)))]),
        "cert-ku-decipher-only": b"\x00" + tbs_cert(SERIAL, leaf_validity, name("v"), [
            ext(OID_KU, bitstring(b"\x88\x80", 7), critical=True), ext(OID_AKI, aki(KEYID))]),
        "cert-ku-past-decipher-only": b"\x00" + tbs_cert(SERIAL, leaf_validity, name("v"), [
            ext(OID_KU, bitstring(b"\x80\x40", 6), critical=True), ext(OID_AKI, aki(KEYID))]),
        "cert-too-many-extensions": b"\x00" + leaf_with(exts=many_exts),
        "cert-unknown-critical": b"\x00" + leaf_with(exts=[ext("1.3.6.1.4.1.99999.1", octets(b"?"), critical=True)]),
        "cert-deny": b"\x0c" + leaf,
    }
    revoked = seq(
        seq(integer(SERIAL), utctime("261201000000Z"), seq(ext(OID_REASON, enumerated(1)))),
        seq(integer(b"\x00\x80" + SERIAL), utctime("261202000000Z")),
    )
    crl_exts = ctx(0, seq(ext(OID_AKI, aki(KEYID)), ext(OID_CRL_NUMBER, integer(42))))
    crl = seq(integer(1), SIGALG, ISSUER, utctime("261201000000Z"), utctime("261208000000Z"), revoked, crl_exts)
    crl_empty = seq(integer(1), SIGALG, ISSUER, utctime("261201000000Z"), utctime("261202000000Z"), crl_exts)

    def certid(ikh, serial):
        return seq(seq(oid("1.3.14.3.2.26"), null()), octets(b"\x33" * 20), octets(ikh), integer(serial))

    def single(ikh, serial, status):
        return seq(certid(ikh, serial), status, gentime("20261125120000Z"), ctx(0, gentime("20261202120000Z")))

    good = ctx(0, b"", constructed=False)
    unknown = ctx(2, b"", constructed=False)
    revoked_st = ctx(1, gentime("20261120000000Z") + ctx(0, enumerated(4)))
    nonce = ctx(1, seq(ext("1.3.6.1.5.5.7.48.1.2", octets(b"\x99" * 16))))
    ocsp_name = seq(
        ctx(1, ISSUER),
        gentime("20261125120000Z"),
        seq(single(KEY_HASH, SERIAL, good), single(KEY_HASH, 5, revoked_st), single(KEY_HASH, 6, unknown)),
        nonce,
    )
    ocsp_key = seq(ctx(2, octets(KEY_HASH)), gentime("20261125120000Z"), seq(single(KEY_HASH, SERIAL, good)))
    ocsp_delegated = seq(ctx(2, octets(KEY_HASH)), gentime("20261125120000Z"),
                         seq(single(PARENT_KEY_HASH, SERIAL, revoked_st)))
    return {
        "cert-real-openssl": b"\x00" + real,
        "cert-real-openssl-strict": b"\x08" + real,
        "cert-leaf": b"\x00" + leaf,
        "cert-leaf-strict": b"\x08" + leaf,
        "cert-ca": b"\x00" + ca,
        "cert-ca-nc-pinned": b"\x04" + ca_with_nc(nc_ip),
        "cert-ca-nc-pinned-no-ip": b"\x04" + ca_with_nc(nc_none),
        "crl": b"\x01" + crl,
        "crl-empty": b"\x01" + crl_empty,
        "crl-strict": b"\x09" + crl,
        "ocsp-by-name": b"\x02" + ocsp_name,
        "ocsp-by-key": b"\x02" + ocsp_key,
        "ocsp-delegated": b"\x06" + ocsp_delegated,
        "all-parsers-cert": b"\x03" + leaf,
        "crl-deny": b"\x0d" + crl,
        "ocsp-deny": b"\x0e" + ocsp_key,
        **variants,
    }


# --- share files (layout of hsm/seal.c seal_share_write; ciphertext and tag are filler) --------------------


def share_file(index, m, n, serial, label, custodian, ct_len, log_n=15):
    out = b"HSMCASH1" + bytes([1, index, m, n])
    for s in (serial, label, custodian):
        out += bytes([len(s)]) + s.encode()
    out += bytes([log_n, 8, 1])
    out += bytes(range(0x80, 0x80 + 16))  # split id (format 1 carries it since the mixed-split fix)
    out += bytes(range(0xA0, 0xA0 + 16))  # salt
    out += bytes(range(0xC0, 0xC0 + 12))  # nonce
    out += struct.pack(">H", ct_len) + bytes((i * 7) & 0xFF for i in range(ct_len))
    out += b"\xee" * 16  # tag
    return out


def share_seeds():
    return {
        "share-2of3": share_file(1, 2, 3, "0123456789abcdef", "hsmca", "alice", 33),
        "share-3of5": share_file(5, 3, 5, "A1B2", "issuing CA token", "bob.smith-2", 17, log_n=14),
        "share-max-fields": share_file(255, 255, 255, "S" * 16, "L" * 32, "n" * 64, 64, log_n=18),
    }


# --- signer frames (signer/PROTOCOL.md, common/frame.c) ----------------------------------------------------


def frame(ftype, req_id, body):
    return struct.pack(">BBHII", 1, ftype, 0, req_id, len(body)) + body


def frame_seeds(shares, tbs):
    real_tbs = tbs["cert-real-openssl"][1:]

    def sign(ftype, req_id, label, data):
        return frame(ftype, req_id, bytes([len(label)]) + label.encode() + struct.pack(">I", len(data)) + data)

    share = shares["share-2of3"]
    msg = b"issuer: issuer name does not match the key's certificate"
    return {
        "hello": frame(0x01, 0, struct.pack(">H", 1)),
        "sign-cert": sign(0x10, 1, "ca-issuing", real_tbs),
        "sign-crl": sign(0x11, 2, "ca-issuing", tbs["crl"][1:]),
        "sign-ocsp": sign(0x12, 3, "ocsp-responder", tbs["ocsp-by-key"][1:]),
        "sign-checkpoint": sign(0x13, 4, "audit", bytes(range(32))),
        "unseal": frame(0x20, 5, struct.pack(">H", len(share)) + share + struct.pack(">H", 14) + b"correct horse!"),
        "status": frame(0x21, 6, b""),
        "reply-ok": frame(0x80, 7, struct.pack(">I", 8) + b"\x30\x06\x02\x01\x01\x02\x01\x02"),
        "reply-err": frame(0x81, 8, struct.pack(">IH", 3, len(msg)) + msg),
    }


# --- the signer's HELLO reply: its keys and their pins (policy/pinwire.c, signer/PROTOCOL.md) ---------------


def pin(flags=0x01, pathlen=0, days=90, ku=0x0001, ekus=(), ca_dn=b"", ca=((), ()), leaf=((), ())):
    def names(dns, ips):
        out = bytes([len(dns)]) + b"".join(bytes([len(d)]) + d.encode() for d in dns)
        out += bytes([len(ips)])
        for addr, prefix in ips:
            v6 = ":" in addr
            out += bytes([6 if v6 else 4]) + socket.inet_pton(socket.AF_INET6 if v6 else socket.AF_INET, addr)
            out += bytes([prefix])
        return out

    out = struct.pack(">BBIHB", flags, pathlen, days, ku, len(ekus))
    out += b"".join(bytes([len(e)]) + e for e in ekus)
    out += struct.pack(">H", len(ca_dn)) + ca_dn
    return out + names(*ca) + names(*leaf)


def hello_reply(keys):
    out = struct.pack(">HB", 1, len(keys))
    for label, ops, p in keys:
        out += bytes([len(label)]) + label.encode() + bytes([ops]) + struct.pack(">H", len(p)) + p
    return out


def pinwire_seeds():
    server_auth = bytes.fromhex("2b06010505070301")
    client_auth = bytes.fromhex("2b06010505070302")
    ca_dn = seq(set_(seq(oid("2.5.4.6"), tlv(0x13, b"US"))), set_(seq(oid("2.5.4.10"), tlv(0x0C, b"Example"))))
    int_pin = pin(flags=0x0F, pathlen=1, days=397, ku=0x0065, ekus=(server_auth, client_auth), ca_dn=ca_dn,
                  ca=((".team.example.com",), (("10.20.0.0", 16),)),
                  leaf=(("example.com",), (("10.0.0.0", 8), ("fd00::", 8))))
    return {
        "none": hello_reply([]),
        "leaf-unpinned": hello_reply([("int", 0x01, pin(ku=0x0005, ekus=(server_auth,)))]),
        "ca-pinned": hello_reply([("int", 0x03, int_pin)]),
        "three-keys": hello_reply([("int", 0x03, int_pin), ("ocsp-key", 0x04, pin(flags=0, days=0, ku=0)),
                                   ("plain", 0x01, pin(days=30, ekus=(bytes.fromhex("2b06010505070303"),)))]),
    }


# --- config files (common/conf.c; keys as signer/config.c reads them) --------------------------------------

SIGNER_CONF = b"""# hsmca signer
[signer]
module = /usr/lib/softhsm/libsofthsm2.so
token_label = hsmca
socket = /run/hsmca/signer.sock
control_socket = /run/hsmca/control.sock
workers = 2
session_copy = yes

[key issuing]
label = ca-issuing
cert = /etc/hsmca/issuing.pem
operations = cert, crl
ca = no
key_usage = digitalSignature, keyEncipherment
eku = serverAuth, clientAuth
max_validity_days = 398
max_crl_days = 7   # a week
"""

EDGE_CONF = (
    b"top_level = before any section\r\n"
    b"\t[  spaced  section ]\t\r\n"
    b"key.with-dots_and-dashes=value = with = equals\r\n"
    b"xkey = rejected by the second callback\n"
    b"number = 4294967296\n"
    b"bool = false\n"
    b"\n"
    b"   # only a comment\n"
    b"[key ocsp]\n"
    b"ocsp_delegated = true\n"
)


def conf_seeds():
    return {
        "signer": SIGNER_CONF,
        "edge-cases": EDGE_CONF,
        "long-line": b"[s]\nk = " + b"v" * 1000 + b"\n",
        "bad-key": b"[signer]\nBadKey = 1\n",
        # regressions from crashes/ (conf.c bugs fixed in b158b83): the largest uint, and a line of exactly
        # CONF_LINE_MAX bytes (fuzz_conf re-parses it with CRLF)
        "regress-uint64-max": b"a = 18446744073709551615\n",
        "regress-line-max-crlf": b"a = " + b"v" * 1020 + b"\n",
    }


# --- the frontend's config (frontend/fconfig.c) ------------------------------------------------------------

FRONTEND_CONF = b"""# hsmca frontend
[frontend]
listen = 127.0.0.1:8080
database = host=/run/postgresql dbname=hsmca user=hsmca_frontend
signer_socket = /run/hsmca/signer.sock
profiles = /etc/hsmca/profiles.conf
chain = /etc/hsmca/chain.pem
intent_key_file = /etc/hsmca/intent.key
user = hsmca-frontend
threads = 8
max_body = 65536
timeout_seconds = 10
"""

FRONTEND_TLS_CONF = b"""[frontend]
listen = ::1:8080
tls_listen = [::]:8443
tls_cert = /etc/hsmca/tls.pem
tls_key = /etc/hsmca/tls.key
client_ca = /etc/hsmca/clients.pem
database = dbname=hsmca
signer_socket = /run/hsmca/signer.sock
profiles = /etc/hsmca/profiles.conf
chain = /etc/hsmca/chain.pem
intent_key_file = /etc/hsmca/intent.key
intent_key_accept_file = /etc/hsmca/intent.old
former_issuers = /etc/hsmca/former-issuers.pem
checkpoint_key = ca-checkpoint
checkpoint_cert = /etc/hsmca/checkpoint.pem
checkpoint_seconds = 60
max_connections_per_address = 0
max_connection_rate_per_address = 100
max_inflight = 4096
max_headers = 64
max_header_size = 8192
recover_after_seconds = 30
db_timeout_seconds = 0
max_requests_per_connection = 1000
max_connection_seconds = 600
"""


def fconfig_seeds():
    return {
        "http": FRONTEND_CONF,
        "tls": FRONTEND_TLS_CONF,
        # refusals the reference is asked about: a port of 0, an upper-case user, a listener needing TLS files
        "bad-port": FRONTEND_CONF.replace(b":8080", b":0"),
        "bad-user": FRONTEND_CONF.replace(b"hsmca-frontend", b"Hsmca"),
        "tls-no-key": FRONTEND_TLS_CONF.replace(b"tls_key = /etc/hsmca/tls.key\n", b""),
        "signer-check-warn": FRONTEND_CONF + b"signer_profile_check = warn\n",
    }


# --- stored SAN lists (frontend/issue.c issue_sans_text; written by issue_rec_build) -------------------------


def sanstext_seeds():
    return {
        "mixed": b"DNS:a.example,DNS:*.b.example,IP:192.0.2.1,IP:2001:db8::1,email:a@example.com",
        "one": b"DNS:a.example",
        # the limits: CSR_MAX_SANS entries, a value of CSR_SAN_MAX - 1 bytes
        "max-count": b",".join(b"DNS:n%d.example" % i for i in range(100)),
        "max-value": b"DNS:" + b"a" * 255,
        # refused: an unknown type, an empty value
        "uri": b"DNS:a.example,URI:https://a.example/",
        "empty-value": b"DNS:a.example,IP:",
        # refused since the target found it accepted (crashes/sanstext-trailing-comma)
        "regress-trailing-comma": b"DNS:a.example,",
    }


def hdrscan_seeds():
    return {
        "get": b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        "post": b"POST /api/v1/certificates HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
        "chunked": b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
        "lf": b"GET / HTTP/1.0\nA: b\n\n",
        # refused: two lengths, a space before the colon, a signed length, a fold, both framings
        "two-cl": b"POST /a HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n{}",
        "space-colon": b"POST /a HTTP/1.1\r\nContent-Length : 5\r\n\r\n",
        "signed": b"POST /a HTTP/1.1\r\nContent-Length: +2\r\n\r\n{}",
        "fold": b"GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n",
        "both": b"POST /a HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
    }


# --- requests through the profile to the TBS (fuzz_csrpolicy.c) ---------------------------------------------

# the public key of fuzz_csrsign.h's fixed test key: a CertificationRequestInfo with it is signed by the target
FUZZ_CSR_PUB = bytes.fromhex(
    "0473fb596b3dc5f49759d502a2c9c840b4de2e1e932250f0f63dd0bea6fcc8d756021b4399ed5ea4e74b7d143e7853e2266336"
    "135abf1d1778a83094b788e963e0"
)
CSR_SIGN, CSR_HOSTS, CSR_TEXT, CSR_LATE = 0x10, 0x04, 0x08, 0x20  # fuzz_csrpolicy.c's selector bits
WEB, TIGHT, SUB, SUB_NOIP = 0, 1, 2, 3


def cri(*names):
    """A CertificationRequestInfo for the fixed key asking for names: ("dns"|"ip"|"email", value)."""
    tags = {"dns": 2, "email": 1}
    gns = []
    for kind, v in names:
        if kind == "ip":
            gns.append(ctx(7, socket.inet_pton(socket.AF_INET6 if ":" in v else socket.AF_INET, v), False))
        else:
            gns.append(ctx(tags[kind], v.encode(), False))
    spki = seq(seq(oid("1.2.840.10045.2.1"), oid("1.2.840.10045.3.1.7")), bitstring(FUZZ_CSR_PUB))
    attrs = ctx(0, seq(oid("1.2.840.113549.1.9.14"), set_(seq(ext("2.5.29.17", seq(*gns))))))
    return seq(integer(0), name("x"), spki, attrs)


def csrpolicy(sel, req, names=b""):
    return bytes([sel]) + names + b"\x00" + req


def csrpolicy_seeds():
    web = cri(("dns", "www.example.com"), ("dns", "*.example.com"), ("dns", "a.test"), ("ip", "192.0.2.7"),
              ("ip", "2001:db8::1"), ("email", "a@example.com"))
    with open(os.path.join(CORPUS, "csr", "seed-p256.pem"), "rb") as f:
        pem = f.read()  # CN and DNS a.example, signed with its own key
    return {
        "web": csrpolicy(CSR_SIGN | WEB, web),
        "web-late": csrpolicy(CSR_SIGN | CSR_LATE | WEB, web),
        "web-long-name": csrpolicy(CSR_SIGN | WEB, cri(("dns", "x" * 60 + "." + "y" * 10 + ".example"))),
        "web-refused": csrpolicy(CSR_SIGN | WEB, cri(("dns", "a.example"), ("ip", "198.51.100.1"))),
        "tight": csrpolicy(CSR_SIGN | TIGHT, cri(("dns", "a.example"))),
        "sub": csrpolicy(CSR_SIGN | SUB, cri(("dns", "ca.example"), ("dns", "example.com"), ("ip", "192.0.2.1"))),
        "sub-noip": csrpolicy(CSR_SIGN | SUB_NOIP, cri(("dns", "example.org"), ("dns", "x.a.test"))),
        "hosts": csrpolicy(CSR_SIGN | CSR_HOSTS | WEB, cri(("dns", "a.example")),
                           b'["www.example.com", "10.1.2.3", "2001:db8::5", "*.a.example"]'),
        "stored": csrpolicy(CSR_SIGN | CSR_TEXT | WEB, cri(("dns", "a.example")),
                            b"DNS:a.example,IP:192.0.2.9,IP:fd00::1,email:b@example.org"),
        # one address alone: a leaf's CN, checked as a DNS name against the issuer's DNS constraints, is left out;
        # a CA's CN is not checked
        "web-ip-only": csrpolicy(CSR_SIGN | WEB, cri(("ip", "192.0.2.7"))),
        "hosts-ip-only": csrpolicy(CSR_SIGN | CSR_HOSTS | WEB, cri(("dns", "a.example")), b'["10.1.2.3"]'),
        "sub-ip-only": csrpolicy(CSR_SIGN | SUB, cri(("ip", "192.0.2.1"))),
        "web-email-only": csrpolicy(CSR_SIGN | WEB, cri(("email", "b@a.test"))),
        # the issuer excludes zz.example: a name below it, and *.example, which could stand for it
        "web-excluded": csrpolicy(CSR_SIGN | WEB, cri(("dns", "a.example"), ("dns", "db.zz.example"))),
        "web-wildcard-excluded": csrpolicy(CSR_SIGN | WEB, cri(("dns", "*.example"))),
        "pem": csrpolicy(WEB, pem),
        "pem-hosts": csrpolicy(CSR_HOSTS | SUB, pem, b'["a.example", "192.0.2.200"]'),
    }


# --- bare DER ----------------------------------------------------------------------------------------------


def der_seeds():
    return {
        "integers": integer(0) + integer(127) + integer(128) + tlv(0x02, b"\xff") + integer(2**64) +
        tlv(0x02, b"\xff\x7f"),
        "times": utctime("491231235959Z") + utctime("500101000000Z") + utctime("000229120000Z") +
        gentime("20500101000000Z") + gentime("99991231235959Z") + gentime("00000101000000Z"),
        "bitstrings": bitstring(b"") + bitstring(b"\x04" + bytes(range(64))) + bitstring(b"\x06", 1) +
        boolean(True) + boolean(False) + null(),
        "nested": seq(set_(seq(oid("2.5.4.3"), tlv(0x0C, b"x"))), ctx(0, integer(2)), ctx(1, b"\x00", False),
                      octets(seq(integer(5)))),
        "long-form": octets(b"\xab" * 200) + seq(octets(b"\xcd" * 300)),
    }


def pemcerts_seeds():
    """PEM bundles: one certificate, two with explanatory text around them, CRLF lines, and the refusals
    (a PRIVATE KEY block, PEM headers, a block cut short, two certificates in one block)."""
    import base64
    der = bytes.fromhex(REAL_CERT_HEX)

    def pem(label, data, headers=b""):
        b64 = base64.b64encode(data)
        lines = b"\n".join(b64[i:i + 64] for i in range(0, len(b64), 64))
        return b"-----BEGIN " + label + b"-----\n" + headers + lines + b"\n-----END " + label + b"-----\n"

    one = pem(b"CERTIFICATE", der)
    return {
        "one": one,
        "two-text": b"subject=CN = x\nissuer=CN = x\n" + one + b"\nnext:\n" + one + b"trailing text\n",
        "crlf": one.replace(b"\n", b"\r\n"),
        "key": one + pem(b"PRIVATE KEY", b"\x30\x03\x02\x01\x00"),
        "headers": pem(b"CERTIFICATE", der, b"Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\n"),
        "cut": one[: len(one) // 2],
        "double": pem(b"CERTIFICATE", der + der),
    }


def ckanchor_seeds():
    h = "0123456789abcdef" * 4
    return {
        "ok": f"1660:{h} checkpoint\n".encode(),
        "max-row": f"9223372036854775807:{h} ck\n".encode(),
        "over-row": f"9223372036854775808:{h} ck\n".encode(),
        "zero-lead": f"01:{h} ck\n".encode(),
        "upper-hex": f"7:{h.upper()} ck\n".encode(),
        "no-newline": f"7:{h} ck".encode(),
        "crlf": f"7:{h} ck\r\n".encode(),
        "two-lines": f"7:{h} ck\n8:{h} ck\n".encode(),
        "short-hash": f"7:{h[:62]} ck\n".encode(),
    }


def revoke_seeds():
    return {
        "ok": b'{"reason": "keyCompromise"}',
        "superseded": b'{"reason":"superseded"}',
        "hold": b'{"reason": "certificateHold"}',
        "remove": b'{"reason": "removeFromCRL"}',
        "two": b'{"reason": "superseded", "reason": "keyCompromise"}',
        "extra": b'{"reason": "unspecified", "at": 1}',
        "number": b'{"reason": 1}',
        "nul": b'{"reason": "keyCompromise\\u0000"}',
        "path": b"/api/v1/certificates/01AbCdEf/revoke",
        "path-query": b"/api/v1/certificates/0123456789abcdef0123456789abcdef01234567/revoke?x=1",
        "path-long": b"/api/v1/certificates/" + b"a" * 41 + b"/revoke",
        "path-get": b"/api/v1/certificates/0a",
        "path-other": b"/api/v1/certificates/0a/unrevoke",
        "crl": b"/crl/int.crl",
        "crl-query": b"/crl/hsmca-intermediate.crl?x",
        "crl-dot": b"/crl/..crl",
        "crl-slash": b"/crl/a/b.crl",
    }


def write(target, seeds):
    d = os.path.join(CORPUS, target)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for name_, data in sorted(seeds.items()):
        with open(os.path.join(d, "seed-" + name_), "wb") as f:
            f.write(data)
    print(f"{target}: {len(seeds)} seeds")


def main():
    tbs = tbs_seeds()
    shares = share_seeds()
    write("tbs", tbs)
    write("share", shares)
    write("frame", frame_seeds(shares, tbs))
    write("conf", conf_seeds())
    write("der", der_seeds())
    write("fconfig", fconfig_seeds())
    write("sanstext", sanstext_seeds())
    write("csrpolicy", csrpolicy_seeds())
    write("hdrscan", hdrscan_seeds())
    write("pinwire", pinwire_seeds())
    write("pemcerts", pemcerts_seeds())
    write("ckanchor", ckanchor_seeds())
    write("revoke", revoke_seeds())
    return 0


if __name__ == "__main__":
    sys.exit(main())
