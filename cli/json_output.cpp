// JSON helpers of the command line.
#include "json_output.hpp"

#include <Poco/JSON/Parser.h>

namespace om_cli {

Poco::JSON::Object::Ptr new_json_object() {
    return new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
}

Poco::Dynamic::Var parse_json(const std::string& text) {
    Poco::JSON::Parser parser;
    return parser.parse(text);
}

void print_json_line(const Poco::JSON::Object::Ptr& object, std::ostream& out) {
    object->stringify(out);
    out << '\n' << std::flush;
}

} // namespace om_cli
