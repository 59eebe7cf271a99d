// JSON helpers with readable type errors.
#include "kernels/core/json.h"

#include <cstdint>

#include "kernels/core/error.h"
#include "kernels/core/file_io.h"

namespace mvl::json {

Json parse(const std::string& text, const std::string& what) {
  try {
    return Json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(ErrorCategory::bad_format,
                fmt::format("{}: invalid JSON at byte {}", what, e.byte));
  } catch (const nlohmann::json::exception& e) {
    // Found by fuzzing: a number such as 1e999 throws out_of_range (406), not parse_error.
    throw Error(ErrorCategory::bad_format, fmt::format("{}: invalid JSON ({})", what, e.what()));
  }
}

// Regular files only (a FIFO would hang, /dev/zero never end), at most kMaxConfigFileBytes;
// loaders of larger files call read_regular_file with their own cap (kernels/core/file_io.h).
std::string read_file(const std::string& path) {
  return read_regular_file(path, kMaxConfigFileBytes);
}

Json parse_file(const std::string& path) {
  return parse(read_file(path), "'" + path + "'");
}

const char* type_name(const Json& j) {
  if (j.is_null()) return "null";
  if (j.is_boolean()) return "boolean";
  if (j.is_number_integer()) return "integer";
  if (j.is_number()) return "number";
  if (j.is_string()) return "string";
  if (j.is_array()) return "array";
  return "object";
}

namespace {
const Json& require(const Json& obj, const std::string& key, const std::string& what) {
  if (!obj.is_object())
    throw Error(ErrorCategory::bad_format, fmt::format("{}: expected an object, got {}", what, type_name(obj)));
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null())
    throw Error(ErrorCategory::bad_format, fmt::format("{}: missing key '{}'", what, key));
  return *it;
}
[[noreturn]] void wrong_type(const std::string& what, const std::string& key, const char* want,
                             const Json& got) {
  throw Error(ErrorCategory::bad_format,
              fmt::format("{}: key '{}': expected {}, got {}", what, key, want, type_name(got)));
}
const Json* find(const Json& obj, const std::string& key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}
}  // namespace

int64_t get_int(const Json& obj, const std::string& key, const std::string& what) {
  const Json& v = require(obj, key, what);
  if (!v.is_number_integer()) {
    // Accept integral floats such as 6144.0, which some exporters write. The range check comes
    // first (found by fuzzing: casting 1e22 to int64 is undefined behaviour).
    if (v.is_number_float()) {
      const double d = v.get<double>();
      if (d >= -9.2e18 && d <= 9.2e18 && d == static_cast<double>(static_cast<int64_t>(d)))
        return static_cast<int64_t>(d);
    }
    wrong_type(what, key, "an integer", v);
  }
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
    wrong_type(what, key, "an integer below 2^63", v);
  return v.get<int64_t>();
}

double get_number(const Json& obj, const std::string& key, const std::string& what) {
  const Json& v = require(obj, key, what);
  if (!v.is_number()) wrong_type(what, key, "a number", v);
  return v.get<double>();
}

bool get_bool(const Json& obj, const std::string& key, const std::string& what) {
  const Json& v = require(obj, key, what);
  if (!v.is_boolean()) wrong_type(what, key, "a boolean", v);
  return v.get<bool>();
}

std::string get_string(const Json& obj, const std::string& key, const std::string& what) {
  const Json& v = require(obj, key, what);
  if (!v.is_string()) wrong_type(what, key, "a string", v);
  return v.get<std::string>();
}

const Json& get_object(const Json& obj, const std::string& key, const std::string& what) {
  const Json& v = require(obj, key, what);
  if (!v.is_object()) wrong_type(what, key, "an object", v);
  return v;
}

const Json& get_array(const Json& obj, const std::string& key, const std::string& what) {
  const Json& v = require(obj, key, what);
  if (!v.is_array()) wrong_type(what, key, "an array", v);
  return v;
}

std::optional<int64_t> opt_int(const Json& obj, const std::string& key, const std::string& what) {
  if (!find(obj, key)) return std::nullopt;
  return get_int(obj, key, what);
}
std::optional<double> opt_number(const Json& obj, const std::string& key, const std::string& what) {
  if (!find(obj, key)) return std::nullopt;
  return get_number(obj, key, what);
}
std::optional<bool> opt_bool(const Json& obj, const std::string& key, const std::string& what) {
  if (!find(obj, key)) return std::nullopt;
  return get_bool(obj, key, what);
}
std::optional<std::string> opt_string(const Json& obj, const std::string& key,
                                      const std::string& what) {
  if (!find(obj, key)) return std::nullopt;
  return get_string(obj, key, what);
}

std::vector<int64_t> as_int_list(const Json& arr, const std::string& what) {
  if (!arr.is_array())
    throw Error(ErrorCategory::bad_format, fmt::format("{}: expected an array, got {}", what, type_name(arr)));
  std::vector<int64_t> r;
  r.reserve(arr.size());
  for (size_t i = 0; i < arr.size(); ++i) {
    if (!arr[i].is_number_integer() ||
        (arr[i].is_number_unsigned() && arr[i].get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)))
      throw Error(ErrorCategory::bad_format,
                  fmt::format("{}[{}]: expected an integer below 2^63, got {}", what, i,
                              type_name(arr[i])));
    r.push_back(arr[i].get<int64_t>());
  }
  return r;
}

}  // namespace mvl::json
