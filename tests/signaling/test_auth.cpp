#include "harness.h"

TEST_CASE("with a secret, only a valid token for the same id registers", "[auth]")
{
    const std::string secret = "correct horse battery staple";
    auto server = test::start_server(secret);
    std::string url = server->url();

    // JWT expiry has one-second granularity: this token is dead by the time it is used below.
    const std::string short_lived = orbitmesh::create_token(secret, "te", 1);
    const auto minted = std::chrono::steady_clock::now();
    CHECK(test::status_of([&] { orbitmesh::create_token(secret, "te", 0); }) == OM_ERR_INVALID_ARGUMENT);

    test::RecordingAgent good(url, "ta", orbitmesh::create_token(secret, "ta"));
    good.agent->connect();

    test::RecordingAgent none(url, "tb");
    CHECK(test::status_of([&] { none.agent->connect(); }) == OM_ERR_AUTH);
    test::RecordingAgent forged(url, "tc", orbitmesh::create_token("another secret", "tc"));
    CHECK(test::status_of([&] { forged.agent->connect(); }) == OM_ERR_AUTH);
    test::RecordingAgent other_id(url, "td", orbitmesh::create_token(secret, "someone-else"));
    CHECK(test::status_of([&] { other_id.agent->connect(); }) == OM_ERR_AUTH);
    std::this_thread::sleep_until(minted + std::chrono::milliseconds(2100));
    test::RecordingAgent expired(url, "te", short_lived);
    CHECK(test::status_of([&] { expired.agent->connect(); }) == OM_ERR_AUTH);
    CHECK(forged.count(OM_EVENT_RECONNECTING) == 0);  // a refused token is final: no retry loop

    test::RecordingAgent twin(url, "ta", orbitmesh::create_token(secret, "ta"));
    CHECK(test::status_of([&] { twin.agent->connect(); }) == OM_ERR_AUTH);  // id in use: refused by default
    CHECK(server->counter("auth.failures") >= 4);
}
