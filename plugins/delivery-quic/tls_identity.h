// The agent's TLS identity (RFC 8446 certificate authentication without a CA): a self-signed
// ECDSA P-256 certificate, made at instance creation or loaded from a PEM file, and the SHA-256
// fingerprint of its DER form that peers pin. Also the check of a peer's certificate against
// the fingerprint the kernel expects (received through signaling).
#pragma once

#include <gnutls/gnutls.h>

#include <orbitmesh/orbitmesh.h>

#include <span>
#include <string>

namespace om::quic {

// "AB:CD:..": SHA-256 of `der`, uppercase hex with colons (95 characters).
std::string fingerprint_of(std::span<const uint8_t> der);
// The canonical form of a fingerprint given by someone else (case, no blanks); "" when it is not
// 32 hex bytes separated by colons.
std::string normalize_fingerprint(const std::string& text);

class TlsIdentity {
public:
    // A fresh key and certificate (throws std::runtime_error with GnuTLS's reason).
    static TlsIdentity generate();
    // Loads the PEM file (certificate and unencrypted PKCS#8 key); when it does not exist,
    // generates an identity and writes it there with mode 0600 first. Throws std::runtime_error.
    static TlsIdentity load_or_create(const std::string& path);

    TlsIdentity(TlsIdentity&& other) noexcept;
    TlsIdentity& operator=(TlsIdentity&& other) noexcept;
    TlsIdentity(const TlsIdentity&) = delete;
    TlsIdentity& operator=(const TlsIdentity&) = delete;
    ~TlsIdentity();

    const std::string& fingerprint() const noexcept { return fingerprint_; }
    // Credentials holding the certificate and key, for gnutls_credentials_set.
    gnutls_certificate_credentials_t credentials() const noexcept { return credentials_; }
    // The certificate and key as one PEM text (what load_or_create writes).
    const std::string& pem() const noexcept { return pem_; }

private:
    TlsIdentity() = default;
    static TlsIdentity from_pem(const std::string& pem, const std::string& origin);

    gnutls_certificate_credentials_t credentials_ = nullptr;
    std::string fingerprint_;
    std::string pem_;
};

// The outcome of checking the certificate a peer presented.
struct PeerCheck {
    bool ok = false;
    std::string presented;  // the fingerprint of the peer's certificate, "" when it sent none
    std::string reason;     // why not ok
};
// Checks the peer certificate of `session` against `expected` (normalized fingerprint).
PeerCheck check_peer_certificate(gnutls_session_t session, const std::string& expected);

}  // namespace om::quic
