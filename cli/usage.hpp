// The --help text.
#pragma once

#include <ostream>

namespace om_cli {

void print_usage(std::ostream& out);

} // namespace om_cli
