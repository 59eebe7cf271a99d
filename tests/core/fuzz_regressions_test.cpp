// Inputs the libFuzzer targets (tests/fuzz/) found crashing, kept as regression tests:
//  * a JSON number out of double range (1e999) made nlohmann throw out_of_range (406), not
//    parse_error, so it escaped every JSON reader as a foreign exception (config.json,
//    safetensors headers and index, tokenizer.json, JSONL datasets, saved chats);
//  * an integral key given as a huge float (1e22) was cast to int64 before its range was
//    checked (undefined behaviour, UBSan at kernels/core/json.cpp).
#include <filesystem>

#include "kernels/core/error.h"
#include "kernels/core/json.h"
#include "kernels/core/safetensors.h"
#include "tests/support/test_util.h"

namespace mvl {
namespace {

ErrorCategory category_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.category();
  }
  return ErrorCategory::internal;  // "no error" stands out as a failure below
}

TEST(FuzzRegressions, NumberOutOfRangeIsAFormatError) {
  for (const char* text : {"1e999", "{\"a\": 555E655}", "[-7e88888]"})
    EXPECT_EQ(category_of([&] { json::parse(text, "x.json"); }), ErrorCategory::bad_format) << text;
  const std::string dir = test::temp_dir("fuzz_json");
  test::write_text(dir + "/config.json", "{\"hidden_size\": 44e66094}");
  EXPECT_EQ(category_of([&] { json::parse_file(dir + "/config.json"); }),
            ErrorCategory::bad_format);
}

TEST(FuzzRegressions, HugeFloatForAnIntegerKeyIsAFormatError) {
  for (const char* text :
       {"{\"n\": 4.09678e+22}", "{\"n\": -1e300}", "{\"n\": 18446744073709551615}"}) {
    const json::Json j = json::parse(text, "x");
    EXPECT_EQ(category_of([&] { json::get_int(j, "n", "x"); }), ErrorCategory::bad_format) << text;
    EXPECT_EQ(category_of([&] { json::opt_int(j, "n", "x"); }), ErrorCategory::bad_format) << text;
  }
  const json::Json list = json::parse("[1, 18446744073709551615]", "x");
  EXPECT_EQ(category_of([&] { json::as_int_list(list, "x"); }), ErrorCategory::bad_format);
  EXPECT_EQ(json::get_int(json::parse("{\"n\": 6144.0}", "x"), "n", "x"), 6144);  // still accepted
}

TEST(FuzzRegressions, SafetensorsHeaderWithAHugeNumberIsAFormatError) {
  const std::string dir = test::temp_dir("fuzz_st");
  std::string header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[444e4444],\"data_offsets\":[0,4]}}";
  std::string file(8, '\0');
  for (int i = 0; i < 8; ++i) file[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  test::write_text(dir + "/x.safetensors", file + header + "abcd");
  EXPECT_EQ(category_of([&] { SafetensorsFile::open(dir + "/x.safetensors"); }),
            ErrorCategory::bad_format);
  test::write_text(dir + "/model.safetensors.index.json", "{\"weight_map\": {\"a\": 4444e444}}");
  EXPECT_EQ(category_of([&] { Checkpoint::open(dir); }), ErrorCategory::bad_format);
}

}  // namespace
}  // namespace mvl
