// The client side of the WebSocket opening handshake (RFC 6455 §4.1): the upgrade request and
// the checks on the server's answer. Pure functions over text.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace om::proto::ws {

// §4.1: a fresh random 16-byte nonce, base64 (24 characters).
std::string make_client_key();
// §4.2.2: base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")).
std::string accept_key_for(std::string_view client_key);

// The GET request with Upgrade, Connection, Sec-WebSocket-Key and -Version 13 (§4.1).
std::string make_upgrade_request(std::string_view host_port, std::string_view path, std::string_view key);

// Where the response headers end ("\r\n\r\n" + 4), or npos while incomplete.
size_t response_header_end(std::string_view received);
// §4.1 steps 1-4 of validating the server's response: 101, Upgrade: websocket, Connection:
// Upgrade, the right Sec-WebSocket-Accept. Returns "" when valid, else what is wrong (with the
// status line when the server refused, e.g. "HTTP/1.1 404 Not Found").
std::string check_upgrade_response(std::string_view headers, std::string_view key);
// The value of header `name` (case-insensitive, trimmed) in a response's header block.
std::optional<std::string> header_value(std::string_view headers, std::string_view name);

} // namespace om::proto::ws
