// The datagrams of datagram-demo: a marker, a sequence number and a filler that depends on
// both, so a corrupted, truncated or misrouted echo is recognised.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace om_cli {

// Smallest payload: the 4-byte marker and the 4-byte sequence number.
constexpr size_t kDemoHeaderSize = 8;

std::vector<uint8_t> make_demo_payload(uint32_t seq, size_t size);

// The sequence number when `data` is exactly the payload make_demo_payload(seq, size) builds.
std::optional<uint32_t> demo_payload_seq(const uint8_t* data, size_t len, size_t size);

// Counts what one side received: distinct sequence numbers, duplicates, damaged datagrams.
class DemoTally {
public:
    explicit DemoTally(size_t expected) : seen_(expected, false) {}
    void record(std::optional<uint32_t> seq);
    size_t unique() const { return unique_; }
    size_t duplicates() const { return duplicates_; }
    size_t corrupted() const { return corrupted_; }

private:
    std::vector<bool> seen_;
    size_t unique_ = 0;
    size_t duplicates_ = 0;
    size_t corrupted_ = 0;
};

} // namespace om_cli
