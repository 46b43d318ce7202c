#include "tls_identity.h"

#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace om::quic {
namespace {

void check(int rv, const char* what)
{
    if (rv < 0) throw std::runtime_error(std::string(what) + ": " + gnutls_strerror(rv));
}

struct CrtDeleter {
    void operator()(gnutls_x509_crt_t crt) const noexcept { gnutls_x509_crt_deinit(crt); }
};
struct KeyDeleter {
    void operator()(gnutls_x509_privkey_t key) const noexcept { gnutls_x509_privkey_deinit(key); }
};
using Crt = std::unique_ptr<std::remove_pointer_t<gnutls_x509_crt_t>, CrtDeleter>;
using Key = std::unique_ptr<std::remove_pointer_t<gnutls_x509_privkey_t>, KeyDeleter>;

Crt new_crt()
{
    gnutls_x509_crt_t crt = nullptr;
    check(gnutls_x509_crt_init(&crt), "gnutls_x509_crt_init");
    return Crt(crt);
}
Key new_key()
{
    gnutls_x509_privkey_t key = nullptr;
    check(gnutls_x509_privkey_init(&key), "gnutls_x509_privkey_init");
    return Key(key);
}

std::string datum_text(gnutls_datum_t& datum)
{
    std::string text(reinterpret_cast<const char*>(datum.data), datum.size);
    gnutls_free(datum.data);
    datum.data = nullptr;
    return text;
}

}  // namespace

std::string fingerprint_of(std::span<const uint8_t> der)
{
    uint8_t digest[32];
    check(gnutls_hash_fast(GNUTLS_DIG_SHA256, der.data(), der.size(), digest), "gnutls_hash_fast");
    static const char kHex[] = "0123456789ABCDEF";
    std::string text;
    text.reserve(95);
    for (size_t i = 0; i < sizeof digest; ++i) {
        if (i) text += ':';
        text += kHex[digest[i] >> 4];
        text += kHex[digest[i] & 0xF];
    }
    return text;
}

std::string normalize_fingerprint(const std::string& text)
{
    std::string out;
    for (char c : text) {
        if (c == ' ' || c == '\t') continue;
        out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    if (out.size() != 95) return {};
    for (size_t i = 0; i < out.size(); ++i) {
        const bool colon = i % 3 == 2;
        if (colon ? out[i] != ':' : !std::isxdigit(static_cast<unsigned char>(out[i]))) return {};
    }
    return out;
}

TlsIdentity::TlsIdentity(TlsIdentity&& other) noexcept
    : credentials_(other.credentials_), fingerprint_(std::move(other.fingerprint_)), pem_(std::move(other.pem_))
{
    other.credentials_ = nullptr;
}

TlsIdentity& TlsIdentity::operator=(TlsIdentity&& other) noexcept
{
    if (this != &other) {
        if (credentials_) gnutls_certificate_free_credentials(credentials_);
        credentials_ = other.credentials_;
        other.credentials_ = nullptr;
        fingerprint_ = std::move(other.fingerprint_);
        pem_ = std::move(other.pem_);
    }
    return *this;
}

TlsIdentity::~TlsIdentity()
{
    if (credentials_) gnutls_certificate_free_credentials(credentials_);
}

TlsIdentity TlsIdentity::generate()
{
    Key key = new_key();
    check(gnutls_x509_privkey_generate(key.get(), GNUTLS_PK_ECDSA,
                                       GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0),
          "generating the P-256 key");
    Crt crt = new_crt();
    check(gnutls_x509_crt_set_version(crt.get(), 3), "certificate version");
    uint8_t serial[16];
    check(gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof serial), "certificate serial");
    serial[0] &= 0x7F;  // a positive INTEGER (RFC 5280 §4.1.2.2)
    check(gnutls_x509_crt_set_serial(crt.get(), serial, sizeof serial), "certificate serial");
    const time_t now = time(nullptr);
    check(gnutls_x509_crt_set_activation_time(crt.get(), now - 24 * 3600), "certificate activation");
    check(gnutls_x509_crt_set_expiration_time(crt.get(), now + 20LL * 365 * 24 * 3600), "certificate expiration");
    check(gnutls_x509_crt_set_dn(crt.get(), "CN=orbitmesh-agent", nullptr), "certificate subject");
    check(gnutls_x509_crt_set_key(crt.get(), key.get()), "certificate key");
    check(gnutls_x509_crt_sign2(crt.get(), crt.get(), key.get(), GNUTLS_DIG_SHA256, 0), "self-signing");

    gnutls_datum_t out{};
    check(gnutls_x509_crt_export2(crt.get(), GNUTLS_X509_FMT_PEM, &out), "exporting the certificate");
    std::string pem = datum_text(out);
    check(gnutls_x509_privkey_export2_pkcs8(key.get(), GNUTLS_X509_FMT_PEM, nullptr, GNUTLS_PKCS_PLAIN, &out),
          "exporting the key");
    pem += datum_text(out);
    return from_pem(pem, "generated identity");
}

TlsIdentity TlsIdentity::from_pem(const std::string& pem, const std::string& origin)
{
    const gnutls_datum_t data{reinterpret_cast<unsigned char*>(const_cast<char*>(pem.data())),
                              static_cast<unsigned>(pem.size())};
    Crt crt = new_crt();
    if (int rv = gnutls_x509_crt_import(crt.get(), &data, GNUTLS_X509_FMT_PEM); rv < 0)
        throw std::runtime_error(origin + ": no certificate: " + gnutls_strerror(rv));
    Key key = new_key();
    if (int rv = gnutls_x509_privkey_import2(key.get(), &data, GNUTLS_X509_FMT_PEM, nullptr, 0); rv < 0)
        throw std::runtime_error(origin + ": no private key: " + gnutls_strerror(rv));

    gnutls_datum_t der{};
    check(gnutls_x509_crt_export2(crt.get(), GNUTLS_X509_FMT_DER, &der), "exporting the certificate");
    const std::string der_bytes = datum_text(der);

    TlsIdentity identity;
    identity.fingerprint_ = fingerprint_of({reinterpret_cast<const uint8_t*>(der_bytes.data()), der_bytes.size()});
    identity.pem_ = pem;
    check(gnutls_certificate_allocate_credentials(&identity.credentials_), "gnutls_certificate_allocate_credentials");
    gnutls_x509_crt_t chain[1] = {crt.get()};
    if (int rv = gnutls_certificate_set_x509_key(identity.credentials_, chain, 1, key.get()); rv < 0)
        throw std::runtime_error(origin + ": the key does not go with the certificate: " + gnutls_strerror(rv));
    return identity;
}

TlsIdentity TlsIdentity::load_or_create(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (in) {
        std::ostringstream text;
        text << in.rdbuf();
        return from_pem(text.str(), path);
    }
    TlsIdentity identity = generate();
    // O_EXCL: never overwrite a file someone else created meanwhile; 0600: the key is secret.
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST) return load_or_create(path);
        throw std::runtime_error("identity_file " + path + ": " + std::strerror(errno));
    }
    const std::string& pem = identity.pem();
    size_t written = 0;
    while (written < pem.size()) {
        const ssize_t n = ::write(fd, pem.data() + written, pem.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int error = errno;
            ::close(fd);
            ::unlink(path.c_str());
            throw std::runtime_error("identity_file " + path + ": " + std::strerror(error));
        }
        written += static_cast<size_t>(n);
    }
    ::fsync(fd);
    ::close(fd);
    return identity;
}

PeerCheck check_peer_certificate(gnutls_session_t session, const std::string& expected)
{
    PeerCheck result;
    unsigned count = 0;
    const gnutls_datum_t* certs = gnutls_certificate_get_peers(session, &count);
    if (certs == nullptr || count == 0) {
        result.reason = "the peer presented no certificate (expected fingerprint " + expected + ")";
        return result;
    }
    result.presented = fingerprint_of({certs[0].data, certs[0].size});
    if (result.presented != expected) {
        result.reason = "peer certificate fingerprint " + result.presented + " does not match the expected " +
                        (expected.empty() ? std::string("(none given)") : expected);
        return result;
    }
    result.ok = true;
    return result;
}

}  // namespace om::quic
