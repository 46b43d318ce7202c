#include "proto/ws_handshake.h"

#include "proto/base64.h"

#include <Poco/SHA1Engine.h>

#include <algorithm>
#include <cctype>
#include <random>
#include <sstream>

namespace om::proto::ws {
namespace {

std::string lower(std::string_view s)
{
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

// Value of header `name` (case-insensitive), or nullopt-like empty + found=false.
bool header_value(std::string_view headers, std::string_view name, std::string& value)
{
    const std::string wanted = lower(name);
    size_t pos = headers.find("\r\n");
    while (pos != std::string_view::npos && pos + 2 < headers.size()) {
        size_t start = pos + 2;
        size_t end = headers.find("\r\n", start);
        std::string_view line = headers.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
        size_t colon = line.find(':');
        if (colon != std::string_view::npos && lower(trim(line.substr(0, colon))) == wanted) {
            value = std::string(trim(line.substr(colon + 1)));
            return true;
        }
        pos = end;
    }
    return false;
}

bool has_token(std::string_view list, std::string_view token)
{
    std::string l = lower(list), t = lower(token);
    size_t start = 0;
    while (start <= l.size()) {
        size_t comma = l.find(',', start);
        if (trim(std::string_view(l).substr(start, comma == std::string::npos ? std::string::npos : comma - start)) == t) return true;
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return false;
}

} // namespace

std::string make_client_key()
{
    std::random_device rd;
    unsigned char nonce[16];
    for (auto& b : nonce) b = static_cast<unsigned char>(rd());
    return base64_encode(std::span<const uint8_t>(nonce, sizeof nonce));
}

std::string accept_key_for(std::string_view client_key)
{
    Poco::SHA1Engine sha1;
    sha1.update(std::string(client_key) + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    const auto& digest = sha1.digest();
    return base64_encode(std::span<const uint8_t>(digest.data(), digest.size()));
}

std::string make_upgrade_request(std::string_view host_port, std::string_view path, std::string_view key)
{
    std::string r;
    r += "GET " + std::string(path.empty() ? "/" : path) + " HTTP/1.1\r\n";
    r += "Host: " + std::string(host_port) + "\r\n";
    r += "Upgrade: websocket\r\nConnection: Upgrade\r\n";
    r += "Sec-WebSocket-Key: " + std::string(key) + "\r\n";
    r += "Sec-WebSocket-Version: 13\r\nUser-Agent: orbitmesh\r\n\r\n";
    return r;
}

size_t response_header_end(std::string_view received)
{
    size_t end = received.find("\r\n\r\n");
    return end == std::string_view::npos ? std::string_view::npos : end + 4;
}

std::string check_upgrade_response(std::string_view headers, std::string_view key)
{
    std::string_view status_line = headers.substr(0, headers.find("\r\n"));
    if (status_line.rfind("HTTP/1.1 101", 0) != 0)
        return "the server did not switch protocols: " + std::string(status_line);
    std::string value;
    if (!header_value(headers, "Upgrade", value) || lower(value) != "websocket")
        return "the server's answer lacks \"Upgrade: websocket\"";
    if (!header_value(headers, "Connection", value) || !has_token(value, "upgrade"))
        return "the server's answer lacks \"Connection: Upgrade\"";
    if (!header_value(headers, "Sec-WebSocket-Accept", value) || value != accept_key_for(key))
        return "the server's Sec-WebSocket-Accept does not match the key sent";
    return {};
}

std::optional<std::string> header_value(std::string_view headers, std::string_view name)
{
    std::string value;
    if (!header_value(headers, name, value)) return std::nullopt;
    return value;
}

} // namespace om::proto::ws
