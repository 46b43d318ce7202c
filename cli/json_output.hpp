// JSON output through Poco::JSON: objects keep the order fields were added in.
#pragma once

#include <Poco/JSON/Object.h>

#include <ostream>
#include <string>

namespace om_cli {

Poco::JSON::Object::Ptr new_json_object();

// The library's JSON text (counters, plugin lists) as a value to embed in our output.
Poco::Dynamic::Var parse_json(const std::string& text);

// Prints the object on one line, followed by a newline.
void print_json_line(const Poco::JSON::Object::Ptr& object, std::ostream& out);

} // namespace om_cli
