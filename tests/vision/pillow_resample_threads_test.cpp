// The Pillow-exact resize on several threads: every thread count and split gives the bytes of
// the one-thread resize (each output row reads only source rows and sums integers), and the
// several-sizes call gives each size's one-size bytes. min_work = 0 forces a split of these
// small images; the counts 2, 3 and 7 cut the rows unevenly (heights below are not multiples).

#include "kernels/cpu/parallel.h"
#include "tests/support/test_util.h"
#include "vision/image/image.h"
#include "vision/preprocess/pillow_resample.h"
#include "vision/preprocess/preprocess.h"

namespace mvl::vision {
namespace {

std::vector<uint8_t> noise(int64_t n, uint32_t seed) { return test::noise_bytes(n, seed); }

ResampleThreads forced(int64_t n) { return ResampleThreads{n, 0}; }

struct Case {
  int64_t w, h, out_w, out_h;
  PillowPassOrder order;
};

// Downscale, upscale, one axis only, mixed, and Pillow 13's vertical-first order.
const Case kCases[] = {
    {257, 301, 61, 47, PillowPassOrder::classic},      // downscale, odd sizes
    {53, 37, 211, 149, PillowPassOrder::classic},      // upscale
    {130, 720, 336, 336, PillowPassOrder::classic},    // width up, height down
    {130, 720, 336, 336, PillowPassOrder::pillow13},   // the same, vertical pass first
    {401, 99, 401, 41, PillowPassOrder::classic},      // vertical pass only
    {97, 203, 35, 203, PillowPassOrder::classic},      // horizontal pass only
    {300, 211, 112, 71, PillowPassOrder::pillow13},    // both orders agree here (width shrinks more)
};

TEST(PillowResampleThreads, EveryThreadCountGivesTheOneThreadBytes) {
  for (const Case& c : kCases) {
    for (int channels : {3, 4, 1}) {
      const auto src = noise(c.w * c.h * channels, static_cast<uint32_t>(c.w * 31 + c.h + channels));
      const auto one = resize_bicubic_u8(src.data(), c.w, c.h, channels, c.out_w, c.out_h, c.order, forced(1));
      ASSERT_EQ(one.size(), static_cast<size_t>(c.out_w * c.out_h * channels));
      for (int64_t n : {2, 3, 7}) {
        EXPECT_EQ(resize_bicubic_u8(src.data(), c.w, c.h, channels, c.out_w, c.out_h, c.order, forced(n)), one)
            << c.w << "x" << c.h << " -> " << c.out_w << "x" << c.out_h << " " << pass_order_name(c.order) << ", "
            << channels << " channels, " << n << " threads";
      }
      // The default (the pool's size, small images inline) too.
      EXPECT_EQ(resize_bicubic_u8(src.data(), c.w, c.h, channels, c.out_w, c.out_h, c.order), one);
    }
  }
}

TEST(PillowResampleThreads, MoreThreadsThanRowsStillCoverEveryRow) {
  // 5 output rows on 7 threads: some blocks are empty, none may be skipped or doubled.
  const auto src = noise(40 * 9 * 3, 5);
  const auto one = resize_bicubic_u8(src.data(), 40, 9, 3, 17, 5, PillowPassOrder::classic, forced(1));
  EXPECT_EQ(resize_bicubic_u8(src.data(), 40, 9, 3, 17, 5, PillowPassOrder::classic, forced(7)), one);
  const auto tiny = resize_bicubic_u8(src.data(), 40, 9, 3, 1, 1, PillowPassOrder::classic, forced(1));
  EXPECT_EQ(resize_bicubic_u8(src.data(), 40, 9, 3, 1, 1, PillowPassOrder::classic, forced(7)), tiny);
}

TEST(PillowResampleThreads, SeveralSizesAtOnceGiveEachSizesBytes) {
  // A thumbnail and a keep-ratio grid size of one source, as preprocess() asks for them, plus
  // a same-size copy and a one-axis resize in the same call.
  const int64_t w = 331, h = 517;
  const auto src = noise(w * h * 3, 9);
  const std::vector<ResizeSize> sizes = {{64, 64}, {215, 336}, {w, h}, {w, 200}};
  for (PillowPassOrder order : {PillowPassOrder::classic, PillowPassOrder::pillow13}) {
    for (int64_t n : {1, 2, 3, 7}) {
      const auto outs = resize_bicubic_u8(src.data(), w, h, 3, sizes, order, forced(n));
      ASSERT_EQ(outs.size(), sizes.size());
      for (size_t k = 0; k < sizes.size(); ++k) {
        EXPECT_EQ(outs[k],
                  resize_bicubic_u8(src.data(), w, h, 3, sizes[k].width, sizes[k].height, order, forced(1)))
            << "size " << k << ", " << n << " threads, " << pass_order_name(order);
      }
    }
  }
}

TEST(PillowResampleThreads, PreprocessTilesDoNotDependOnTheThreadCount) {
  // The whole processor on an RGBA image (premultiplied resize) and on RGB.
  PreprocessConfig cfg;
  for (bool alpha : {false, true}) {
    Image img;
    img.width = 700;
    img.height = 451;
    img.rgb = noise(img.width * img.height * 3, 11);
    if (alpha) {
      img.alpha = noise(img.width * img.height, 12);
      img.rule = ResampleRule::bicubic_premultiplied;
    }
    PreprocessOptions one;
    one.threads = forced(1);
    const PreprocessResult want = preprocess(img, cfg, one);
    for (int64_t n : {2, 3, 7}) {
      PreprocessOptions o;
      o.threads = forced(n);
      EXPECT_EQ(preprocess(img, cfg, o).tiles_u8, want.tiles_u8) << n << " threads, alpha " << alpha;
    }
  }
}

TEST(ParallelFor, ForcedThreadCountCoversTheRangeOnce) {
  for (int64_t threads : {1, 2, 3, 7}) {
    for (int64_t n : {1, 5, 7, 100}) {
      std::vector<int> hits(static_cast<size_t>(n), 0);
      cpu::parallel_for(n, 1, threads, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) ++hits[static_cast<size_t>(i)];
      });
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[static_cast<size_t>(i)], 1) << n << " items, " << threads;
    }
  }
  EXPECT_THROW(cpu::parallel_for(10, 1, 3, [](int64_t b, int64_t) {
                 if (b == 0) throw std::runtime_error("chunk 0 fails");
               }),
               std::runtime_error);
  EXPECT_GE(cpu::hardware_threads(), 1);
}

}  // namespace
}  // namespace mvl::vision
