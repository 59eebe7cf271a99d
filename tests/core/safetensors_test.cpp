// safetensors: writer/reader round trips (single file, sharded index, every dtype, odd
// shapes, misaligned tensors, zero-copy views) and the strict reader's malformed-file
// cases, each of which must give a one-line Error naming the file and the problem.
#include <cstring>
#include <filesystem>

#include "kernels/core/error.h"
#include "kernels/core/safetensors.h"
#include "tests/support/test_util.h"

namespace mvl {
namespace {

namespace fs = std::filesystem;
using test::read_text;
using test::temp_dir;
using test::write_text;

// Raw file bytes: 8-byte little-endian header length, header text, data.
std::string raw_file(const std::string& header, const std::string& data, uint64_t len_override = 0) {
  std::string s(8, '\0');
  const uint64_t n = len_override ? len_override : header.size();
  for (int i = 0; i < 8; ++i) s[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  return s + header + data;
}

Tensor filled(const Shape& shape, DType dt, uint8_t seed) {
  Tensor t = Tensor::empty(shape, dt);
  auto* p = static_cast<unsigned char*>(t.data());
  for (size_t i = 0; i < t.nbytes(); ++i) p[i] = static_cast<unsigned char>(seed + 7 * i);
  return t;
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  if (a.nbytes() == 0) return true;  // no data pointer to compare (memcmp(nullptr, ..., 0) is UB)
  Tensor ca = contiguous(a), cb = contiguous(b);
  return std::memcmp(ca.data(), cb.data(), ca.nbytes()) == 0;
}

// Expects opening `path` to throw an Error whose one-line message names `name_in_msg`
// (the file) and contains `problem`.
void expect_open_error(const std::string& path, const std::string& name_in_msg, const std::string& problem) {
  try {
    Checkpoint::open(path);
    ADD_FAILURE() << "opening " << path << " did not throw (expected: " << problem << ")";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(name_in_msg), std::string::npos) << "message does not name the file: " << msg;
    EXPECT_NE(msg.find(problem), std::string::npos) << "message lacks '" << problem << "': " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "message is not one line: " << msg;
  }
}

class Malformed : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = temp_dir("st-bad"); }
  // Writes `bytes` to a fresh file and expects `problem` when opening it.
  void expect(const std::string& bytes, const std::string& problem) {
    const std::string path = dir_ + "/case" + std::to_string(n_++) + ".safetensors";
    write_text(path, bytes);
    expect_open_error(path, path, problem);
  }
  std::string dir_;
  int n_ = 0;
};

const char* kOne = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";

TEST_F(Malformed, EmptyFile) { expect("", "too short"); }
TEST_F(Malformed, ShorterThanTheLengthField) { expect("abcde", "5 bytes, too short"); }
TEST_F(Malformed, HeaderLengthOverTheCap) { expect(raw_file(kOne, std::string(8, '\0'), 200'000'000), "exceeds"); }
TEST_F(Malformed, HeaderRunsPastEndOfFile) { expect(raw_file(kOne, "", 4096), "past the end"); }
TEST_F(Malformed, HeaderIsNotValidJson) { expect(raw_file(R"({"a": {"dtype": )", ""), "not valid JSON"); }
TEST_F(Malformed, HeaderIsNotAnObject) { expect(raw_file("[1, 2, 3]", ""), "JSON object"); }
TEST_F(Malformed, UnknownDtype) {
  expect(raw_file(R"({"a":{"dtype":"Q4_K","shape":[2],"data_offsets":[0,8]}})", std::string(8, '\0')),
         "unknown dtype 'Q4_K'");
}
TEST_F(Malformed, MissingDtype) {
  expect(raw_file(R"({"a":{"shape":[2],"data_offsets":[0,8]}})", std::string(8, '\0')), "dtype");
}
TEST_F(Malformed, ShapeTimesSizeDiffersFromRange) {
  expect(raw_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", std::string(8, '\0')),
         "needs 12 bytes but data_offsets span 8");
}
TEST_F(Malformed, TruncatedData) { expect(raw_file(kOne, std::string(5, '\0')), "outside"); }
TEST_F(Malformed, OverlappingRanges) {
  expect(raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                  R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                  std::string(12, '\0')),
         "overlap");
}
TEST_F(Malformed, HoleBetweenTensors) {
  expect(raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                  R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                  std::string(12, '\0')),
         "hole");
}
TEST_F(Malformed, TrailingBytesAfterTheLastTensor) { expect(raw_file(kOne, std::string(16, '\0')), "trailing"); }
TEST_F(Malformed, DataOffsetsAreNotIntegers) {
  expect(raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":["0","8"]}})", std::string(8, '\0')),
         "data_offsets");
}
TEST_F(Malformed, DataOffsetsWrongLength) {
  expect(raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4,8]}})", std::string(8, '\0')),
         "data_offsets");
}
TEST_F(Malformed, DataOffsetsEndBeforeBegin) {
  expect(raw_file(R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}})", std::string(4, '\0')), "end < begin");
}
TEST_F(Malformed, NegativeDimension) {
  expect(raw_file(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", std::string(8, '\0')), "negative");
}
TEST_F(Malformed, AbsurdDimensionDoesNotOverflow) {
  // 2^32 * 2^32 elements would wrap a 64-bit product to 0 bytes.
  expect(raw_file(R"({"a":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", ""), "needs");
}
TEST_F(Malformed, MetadataValueNotAString) {
  expect(raw_file(R"({"__metadata__":{"format":3},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                  std::string(8, '\0')),
         "__metadata__");
}

// A two-shard checkpoint written with the writer; `mutate` may edit the index text.
class Sharded : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = temp_dir("st-shard");
    SafetensorsWriter a, b;
    a.add("x", filled({2, 3}, DType::bf16, 1));
    a.add("y", filled({4}, DType::f32, 2));
    b.add("z", filled({3, 1}, DType::i64, 3));
    a.write(dir_ + "/s1.safetensors");
    b.write(dir_ + "/s2.safetensors");
    index_ = dir_ + "/model.safetensors.index.json";
    write_safetensors_index(index_, {{"x", "s1.safetensors"}, {"y", "s1.safetensors"}, {"z", "s2.safetensors"}}, 0);
  }
  void write_index(const std::string& weight_map_json) {
    write_text(index_, R"({"metadata":{},"weight_map":)" + weight_map_json + "}");
  }
  std::string dir_, index_;
};

TEST_F(Sharded, RoundTripThroughDirectoryAndIndexPath) {
  for (const std::string& p : {dir_, index_}) {
    Checkpoint ck = Checkpoint::open(p);
    EXPECT_EQ(ck.names(), (std::vector<std::string>{"x", "y", "z"}));
    EXPECT_EQ(ck.files().size(), 2u);
    EXPECT_TRUE(same_bytes(ck.get("x"), filled({2, 3}, DType::bf16, 1)));
    EXPECT_TRUE(same_bytes(ck.get("z"), filled({3, 1}, DType::i64, 3)));
    EXPECT_EQ(ck.info("y").shape, (Shape{4}));
    EXPECT_THROW(ck.get("nope"), Error);
  }
}

TEST_F(Sharded, IndexPointsAtMissingShard) {
  write_index(R"({"x":"s1.safetensors","y":"s1.safetensors","z":"gone.safetensors"})");
  expect_open_error(dir_, index_, "shard 'gone.safetensors' listed for tensor 'z' does not exist");
}

TEST_F(Sharded, IndexNamesTensorTheShardLacks) {
  write_index(R"({"x":"s1.safetensors","y":"s1.safetensors","z":"s2.safetensors","w":"s2.safetensors"})");
  expect_open_error(dir_, index_, "tensor 'w' is mapped to 's2.safetensors' but that shard does not contain it");
}

TEST_F(Sharded, ShardHoldsTensorTheIndexDoesNotList) {
  write_index(R"({"x":"s1.safetensors","z":"s2.safetensors"})");
  expect_open_error(dir_, index_, "holds tensor 'y' that the index does not list");
}

TEST_F(Sharded, IndexWithoutWeightMap) {
  write_text(index_, R"({"metadata":{}})");
  expect_open_error(dir_, index_, "weight_map");
}

TEST_F(Sharded, IndexIsNotJson) {
  write_text(index_, "{\"weight_map\": {");
  expect_open_error(dir_, index_, "invalid JSON");
}

TEST_F(Sharded, ShardNameEscapingTheDirectory) {
  write_index(R"({"x":"../s1.safetensors","y":"s1.safetensors","z":"s2.safetensors"})");
  expect_open_error(dir_, index_, "plain file name");
}

TEST_F(Sharded, CorruptShardIsNamed) {
  write_text(dir_ + "/s2.safetensors", "garbage");
  expect_open_error(dir_, dir_ + "/s2.safetensors", "too short");
}

TEST(Safetensors, DuplicateTensorAcrossFilesWithoutIndex) {
  const std::string dir = temp_dir("st-dup");
  SafetensorsWriter w;
  w.add("same", filled({2}, DType::f32, 0));
  w.write(dir + "/a.safetensors");
  w.write(dir + "/b.safetensors");
  expect_open_error(dir, "same", "appears in both");
}

TEST(Safetensors, RoundTripsEveryDtypeAndOddShapes) {
  const std::string path = temp_dir("st-rt") + "/all.safetensors";
  const std::vector<std::pair<std::string, Tensor>> ts = {
      {"f32", filled({2, 3}, DType::f32, 1)},        {"bf16", filled({5}, DType::bf16, 2)},
      {"f16", filled({1, 1, 3}, DType::f16, 3)},     {"i8", filled({7}, DType::i8, 4)},
      {"u8", filled({3}, DType::u8, 5)},             {"i32", filled({2, 2}, DType::i32, 6)},
      {"i64", filled({3}, DType::i64, 7)},           {"fp8", filled({4, 2}, DType::f8_e4m3, 8)},
      {"scalar", filled({}, DType::f32, 9)},         {"zero_size", filled({0, 4}, DType::f32, 10)},
  };
  SafetensorsWriter w;
  for (const auto& [n, t] : ts) w.add(n, t);
  w.set_metadata("format", "pt");
  w.write(path);
  auto f = SafetensorsFile::open(path);
  EXPECT_EQ(f->metadata().at("format"), "pt");
  EXPECT_EQ(f->tensors().size(), ts.size());
  for (const auto& [n, t] : ts) {
    const Tensor got = f->get(n);
    EXPECT_EQ(got.dtype(), t.dtype()) << n;
    EXPECT_EQ(got.shape(), t.shape()) << n;
    EXPECT_TRUE(same_bytes(got, t)) << n;
  }
  // The written header is itself valid for a second writer round trip (byte-identical).
  SafetensorsWriter w2;
  for (const auto& info : f->tensors()) w2.add(info.name, f->get(info.name));
  w2.set_metadata("format", "pt");
  const std::string path2 = path + ".2";
  w2.write(path2);
  EXPECT_EQ(read_text(path), read_text(path2));
}

TEST(Safetensors, ViewsAreZeroCopyAndMisalignedTensorsAreCopied) {
  const std::string path = temp_dir("st-view") + "/v.safetensors";
  SafetensorsWriter w;
  w.add("a_u8", filled({3}, DType::u8, 1));     // 3 bytes: pushes the next tensor off alignment
  w.add("b_f32", Tensor::from_f32({2, 2}, {1.f, 2.f, 3.f, 4.f}));
  w.write(path);
  auto f = SafetensorsFile::open(path);
  EXPECT_EQ(f->find("b_f32")->begin, 3u);
  const Tensor a = f->get("a_u8");
  const Tensor a2 = f->get("a_u8");
  EXPECT_EQ(a.data(), a2.data()) << "aligned tensors must be views into the one mapping";
  const Tensor b = f->get("b_f32");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % 4, 0u);
  EXPECT_EQ(b.data<float>()[3], 4.0f);
  // Views of a mapped tensor keep working after the file object is gone.
  Tensor col;
  {
    auto g = SafetensorsFile::open(path);
    col = g->get("b_f32").transpose(0, 1).select(0, 1);  // column 1: {2, 4}
  }
  Tensor c = contiguous(col);
  EXPECT_EQ(c.data<float>()[0], 2.0f);
  EXPECT_EQ(c.data<float>()[1], 4.0f);
}

TEST(Safetensors, MissingPathIsNotFound) {
  try {
    Checkpoint::open("/nonexistent/dir/model");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::not_found);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/model"), std::string::npos);
  }
}

}  // namespace
}  // namespace mvl
