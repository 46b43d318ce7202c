// Third-party STUN clients against our server on 127.0.0.1 (with an alternate port): coturn's
// turnutils_stunclient (RFC 5780 attributes) and Debian's `stun` (RFC 3489 classic). They must
// parse our answers and report the server's addresses.
#include "stun_test_support.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>

using namespace om::test;

namespace {

bool have(const std::string& tool) { return std::system(("command -v " + tool + " >/dev/null 2>&1").c_str()) == 0; }

struct Run {
    int status = -1;
    std::string output;
};

Run run(const std::string& command) {
    Run r;
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    if (!pipe) return r;
    std::array<char, 4096> buffer{};
    size_t n = 0;
    while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) r.output.append(buffer.data(), n);
    r.status = ::pclose(pipe);
    return r;
}

} // namespace

TEST_CASE("coturn's turnutils_stunclient reads our RFC 5780 answers", "[stun][interop]") {
    if (!have("turnutils_stunclient")) {
        WARN("SKIPPED: turnutils_stunclient missing (apt-get install -y coturn)");
        return;
    }
    ServerProcess server(stun_args({"--stun-alt-port", "-1"}));
    const std::string p1 = std::to_string(server.stun_port());
    const std::string p2 = std::to_string(server.stun_alt_port());
    Run r = run("timeout 20 turnutils_stunclient -p " + p1 + " 127.0.0.1");
    INFO(r.output);
    CHECK(r.status == 0);
    CHECK(r.output.find("Response origin: : 127.0.0.1:" + p1) != std::string::npos);
    CHECK(r.output.find("Other addr: : 127.0.0.1:" + p2) != std::string::npos);
    CHECK(r.output.find("UDP reflexive addr: 127.0.0.1:") != std::string::npos);
    // Its second request asks for a change of IP (with RESPONSE-PORT): one IP here, so 420.
    CHECK(r.output.find("error 420") != std::string::npos);
}

TEST_CASE("Debian's stun client classifies loopback as Open through our classic answers", "[stun][interop]") {
    if (!have("stun")) {
        WARN("SKIPPED: stun missing (apt-get install -y stun-client)");
        return;
    }
    ServerProcess server(stun_args({"--stun-alt-port", "-1"}));
    const std::string p1 = std::to_string(server.stun_port());
    const std::string p2 = std::to_string(server.stun_alt_port());
    Run r = run("timeout 30 stun 127.0.0.1:" + p1 + " -v");
    INFO(r.output);
    CHECK(r.output.find("MappedAddress = 127.0.0.1:") != std::string::npos);
    CHECK(r.output.find("SourceAddress = 127.0.0.1:" + p1) != std::string::npos);
    CHECK(r.output.find("ChangedAddress = 127.0.0.1:" + p2) != std::string::npos);
    CHECK(r.output.find("Primary: Open") != std::string::npos);
    CHECK(stun_counter(server, "classic") >= 3);
}
