// Typed access to nlohmann::json with readable errors ("config.json: key 'hidden_size':
// expected an integer, got string"). Used by every loader of JSON input.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace mvl::json {

using Json = nlohmann::json;

// Parses text; throws Error{bad_format} naming `what` and the parser's position.
Json parse(const std::string& text, const std::string& what);
// Reads and parses a file; throws Error{not_found|io|bad_format} naming the path.
Json parse_file(const std::string& path);

const char* type_name(const Json& j);

// Required fields: throw Error{bad_format} if missing or of the wrong type.
int64_t get_int(const Json& obj, const std::string& key, const std::string& what);
double get_number(const Json& obj, const std::string& key, const std::string& what);
bool get_bool(const Json& obj, const std::string& key, const std::string& what);
std::string get_string(const Json& obj, const std::string& key, const std::string& what);
const Json& get_object(const Json& obj, const std::string& key, const std::string& what);
const Json& get_array(const Json& obj, const std::string& key, const std::string& what);

// Optional fields: absent or null -> nullopt; present with the wrong type -> throws.
std::optional<int64_t> opt_int(const Json& obj, const std::string& key, const std::string& what);
std::optional<double> opt_number(const Json& obj, const std::string& key, const std::string& what);
std::optional<bool> opt_bool(const Json& obj, const std::string& key, const std::string& what);
std::optional<std::string> opt_string(const Json& obj, const std::string& key,
                                      const std::string& what);

std::vector<int64_t> as_int_list(const Json& arr, const std::string& what);

// Reads a whole file into a string; throws Error{not_found|io}.
std::string read_file(const std::string& path);

}  // namespace mvl::json
