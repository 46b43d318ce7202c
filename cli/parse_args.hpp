// Turns argv into CliOptions, or into the message of a usage error (exit code 2).
#pragma once

#include "cli_options.hpp"

#include <string>

namespace om_cli {

struct ParseResult {
    CliOptions options;
    std::string error; // empty when the command line is valid
    bool ok() const { return error.empty(); }
};

// Parses and validates: unknown options, bad numbers, unknown names and a missing PEER are
// all errors here, so a command never starts with a configuration it cannot use.
ParseResult parse_args(int argc, const char* const* argv);

// Cross-option checks once everything is parsed (validate_args.cpp); "" when valid.
std::string validate_args(const CliOptions& options);

} // namespace om_cli
