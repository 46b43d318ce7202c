#include "matrix_pairs.h"

#include <algorithm>

namespace om::strategymatrix {

void order_pairs(std::span<om_candidate_pair_info> pairs)
{
    // A pair's two candidates share one address family; the local side names it.
    const auto is_ipv6 = [](const om_candidate_pair_info& pair) { return pair.local.family == 6; };
    std::stable_sort(pairs.begin(), pairs.end(), [&](const om_candidate_pair_info& a, const om_candidate_pair_info& b) {
        if (a.priority != b.priority) return a.priority > b.priority;
        return is_ipv6(a) && !is_ipv6(b);
    });
}

}  // namespace om::strategymatrix
