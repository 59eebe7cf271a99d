// Tokenizer speed: single-threaded encode MB/s on ~4 MB of English (the golden corpus' ASCII
// lines, word-shuffled with a fixed seed), as one text and as separate lines, and decode MB/s.
// Prints the median of N runs per tokenizer.json in tests/golden/tokenizer.
// Usage: tokenizer_bench [runs=7] [megabytes=4] [only-this-tokenizer]
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "llm/tokenizer/tokenizer.h"
#include "tests/support/test_util.h"

namespace {

// Thread CPU time: the machine is shared, so wall time would measure the neighbours too.
double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}
double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string english_text(size_t bytes) {
  const auto corpus = nlohmann::json::parse(
      mvl::test::read_text(mvl::test::source_path("tests/golden/tokenizer/corpus.json")));
  std::vector<std::string> words;
  for (const auto& l : corpus) {
    const std::string line = l.get<std::string>();
    bool english = line.size() > 20 && line.find('<') == std::string::npos;
    for (unsigned char c : line) english = english && c < 0x80;
    if (!english) continue;
    std::istringstream ss(line);
    std::string w;
    // Ordinary words only: the corpus' deliberately pathological 100+ letter runs would
    // dominate a mix made by repeating them thousands of times.
    while (ss >> w) {
      if (w.size() <= 24) words.push_back(w);
    }
  }
  std::mt19937 rng(42);
  std::string text;
  while (text.size() < bytes) {
    std::shuffle(words.begin(), words.end(), rng);
    for (size_t i = 0; i < words.size() && text.size() < bytes; ++i) {
      text += words[i];
      text += (i % 17 == 16) ? "\n" : " ";
    }
  }
  return text;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string fmt_cell(double cpu, double wall) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.1f (%.1f)", cpu, wall);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 7;
  const double mb = argc > 2 ? std::max(0.1, std::atof(argv[2])) : 4.0;
  const std::string text = english_text(static_cast<size_t>(mb * 1e6));
  std::vector<std::string> lines;
  {
    std::istringstream ss(text);
    std::string l;
    while (std::getline(ss, l)) lines.push_back(l);
  }
  std::printf("tokenizer encode/decode, single thread, %.1f MB English, median of %d runs\n",
              text.size() / 1e6, runs);
  std::printf("MB/s of input text per second of thread CPU time (wall-clock MB/s in brackets)\n");
  std::printf("%-14s %20s %20s %20s %9s\n", "tokenizer", "encode", "encode per line", "decode",
              "tokens");
  const std::string only = argc > 3 ? argv[3] : "";
  for (const std::string name : {"minimax_like", "o200k_style", "gpt2_style", "llama_style"}) {
    if (!only.empty() && name != only) continue;
    const auto tok = mvl::llm::Tokenizer::from_file(
        mvl::test::source_path("tests/golden/tokenizer/" + name + ".json"));
    std::vector<double> enc, enc_lines, dec, enc_w, enc_lines_w, dec_w;
    size_t n_tokens = 0;
    const double bytes = static_cast<double>(text.size()) / 1e6;
    for (int r = 0; r < runs; ++r) {
      double c0 = cpu_seconds(), w0 = wall_seconds();
      const auto ids = tok.encode(text, false);
      double c1 = cpu_seconds(), w1 = wall_seconds();
      size_t line_tokens = 0;
      for (const auto& l : lines) line_tokens += tok.encode(l, false).size();
      double c2 = cpu_seconds(), w2 = wall_seconds();
      const std::string back = tok.decode(ids);
      double c3 = cpu_seconds(), w3 = wall_seconds();
      n_tokens = ids.size();
      if (line_tokens == 0 || back.empty()) return 1;
      enc.push_back(bytes / (c1 - c0));
      enc_lines.push_back(bytes / (c2 - c1));
      dec.push_back(bytes / (c3 - c2));
      enc_w.push_back(bytes / (w1 - w0));
      enc_lines_w.push_back(bytes / (w2 - w1));
      dec_w.push_back(bytes / (w3 - w2));
    }
    auto cell = [](double cpu, double wall) { return fmt_cell(cpu, wall); };
    std::printf("%-14s %20s %20s %20s %9zu\n", name.c_str(),
                cell(median(enc), median(enc_w)).c_str(),
                cell(median(enc_lines), median(enc_lines_w)).c_str(),
                cell(median(dec), median(dec_w)).c_str(), n_tokens);
  }
  return 0;
}
