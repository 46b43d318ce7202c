// `bench`: its arguments are already validated by parse_args; the command itself arrives with
// the signaling issue.
#include "commands.hpp"

namespace om_cli {

int run_bench(const CliOptions& options) { return not_yet_supported(options); }

} // namespace om_cli
