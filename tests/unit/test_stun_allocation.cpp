// parse() and the Builder sit on the embedded server's hot path: they must not allocate.
// This file replaces the global operator new to count allocations while `counting` is set.
#include "proto/stun.h"
#include "test_stun_support.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <new>

namespace {
thread_local bool counting = false;
thread_local size_t allocations = 0;
}  // namespace

void* operator new(std::size_t size)
{
    if (counting) ++allocations;
    if (void* p = std::malloc(size ? size : 1)) return p;
    throw std::bad_alloc();
}
// GCC 12 at -O2 takes the free() inside a replaced operator delete for a mismatched
// new/free pair (a false positive: this operator new is malloc).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace stun = om::proto::stun;

TEST_CASE("parse, typed readers that return views, and the Builder do not allocate", "[stun]")
{
    const auto request = test::stun::sample_request();
    const auto response = test::stun::sample_ipv6_response();
    std::vector<uint8_t> out(512);
    om_address mapped{};
    mapped.family = 6;
    mapped.port = 40000;
    mapped.bytes[15] = 1;

    allocations = 0;
    counting = true;
    stun::Message m;
    const bool parsed_request = stun::parse(request, m);
    const bool parsed_response = stun::parse(response, m);
    const bool looks = stun::looks_like_stun(response);
    const auto address = stun::mapped_address(m);
    const auto software = stun::read_text(*m.find(stun::attr::Software));
    stun::Builder b(out, stun::method::Binding, stun::Class::SuccessResponse, m.transaction_id);
    b.add_xor_address(stun::attr::XorMappedAddress, mapped);
    b.add_address(stun::attr::ResponseOrigin, mapped);
    b.add_address(stun::attr::OtherAddress, mapped);
    b.add_text(stun::attr::Software, "orbitmesh");
    b.add_fingerprint();
    const size_t size = b.finish();
    counting = false;

    CHECK(parsed_request);
    CHECK(parsed_response);
    CHECK(looks);
    CHECK(address);
    CHECK(software);
    CHECK(size > 0);
    CHECK(allocations == 0);

    // The counter does count: a refusal with `why` allocates the text.
    std::string why;
    counting = true;
    const bool refused = !stun::parse(std::span(request).first(19), m, &why);
    counting = false;
    CHECK(refused);
    CHECK(allocations > 0);
}

TEST_CASE("refusing malformed messages without a `why` does not allocate either", "[stun]")
{
    // The embedded server asks no why: a flood of junk must not cost an allocation per datagram.
    const auto request = test::stun::sample_request();
    std::vector<std::vector<uint8_t>> junk;
    junk.emplace_back(request.begin(), request.begin() + 19);  // shorter than the header
    auto bad_length = request;
    bad_length[3] ^= 0x01;  // length not a multiple of 4
    junk.push_back(bad_length);
    auto bad_cookie = request;
    bad_cookie[4] ^= 0xFF;  // no magic cookie
    junk.push_back(bad_cookie);
    auto bad_fingerprint = request;
    bad_fingerprint.back() ^= 0xFF;  // FINGERPRINT mismatch
    junk.push_back(bad_fingerprint);
    auto overrun = request;
    overrun[22] = 0xFF;  // the first attribute's length runs past the end
    junk.push_back(overrun);

    stun::Message m;
    for (const auto& bytes : junk) {
        allocations = 0;
        counting = true;
        const bool parsed = stun::parse(bytes, m);
        counting = false;
        CHECK_FALSE(parsed);
        CHECK(allocations == 0);
        std::string why;
        CHECK_FALSE(stun::parse(bytes, m, &why));
        CHECK_FALSE(why.empty());  // the reason is still there for callers that ask
    }
}
