// The Pillow-exact resizes of preprocess() on the bench's synthetic page (2016x2016) and scan
// (1000x1400): the thumbnail and the keep-ratio grid resize timed apart on one thread and on
// the pool (cpu::hardware_threads()), the two in shared passes, and the whole preprocess();
// medians of wall time and of process CPU time (the dev machine is shared: CPU time is the
// steadier one). Checks that every variant gives the one-thread bytes.
// Usage: resize_bench [reps=9] [threads=0 (the pool's size)]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "app/engine/inspect/synthetic_image.h"
#include "kernels/core/clock.h"
#include "kernels/cpu/parallel.h"
#include "vision/preprocess/anyres.h"
#include "vision/preprocess/pillow_resample.h"
#include "vision/preprocess/preprocess.h"

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Timed {
  double wall = 0, cpu = 0;
};
Timed time_it(int reps, const std::function<void()>& fn) {
  fn();  // warm-up (page faults of the first allocation)
  std::vector<double> w, c;
  for (int r = 0; r < reps; ++r) {
    const double w0 = mvl::now_ms(), c0 = mvl::process_cpu_ms();
    fn();
    c.push_back(mvl::process_cpu_ms() - c0);
    w.push_back(mvl::now_ms() - w0);
  }
  return {median(w), median(c)};
}

}  // namespace

int main(int argc, char** argv) {
  using namespace mvl;
  using namespace mvl::vision;
  const int reps = argc > 1 ? std::max(1, std::atoi(argv[1])) : 9;
  const int64_t pool = argc > 2 && std::atoi(argv[2]) > 0 ? std::atoi(argv[2]) : cpu::hardware_threads();
  const ResampleThreads one{1, 0}, many{pool, ResampleThreads{}.min_work};
  std::printf("resize_bench: %d reps, medians; pool = %lld threads (hardware_threads() = %lld)\n", reps,
              static_cast<long long>(pool), static_cast<long long>(cpu::hardware_threads()));
  std::printf("%-16s %-30s %10s %10s %8s %s\n", "image", "variant", "wall ms", "cpu ms", "speedup", "bytes");
  const PreprocessConfig cfg;
  bool all_ok = true;
  for (const auto& [kind, w, h, name] : {std::tuple{engine::SyntheticKind::page, 2016, 2016, "page 2016x2016"},
                                          std::tuple{engine::SyntheticKind::scan, 1000, 1400, "scan 1000x1400"}}) {
    Image img;
    img.width = w;
    img.height = h;
    img.rgb = engine::synthetic_rgb(kind, w, h);
    const AnyresLayout l = anyres_layout(w, h, cfg);
    const CanvasPlacement p = keep_ratio_placement(w, h, l.best_resolution.first, l.best_resolution.second);
    const ResizeSize thumb{cfg.tile_size, cfg.tile_size}, grid{p.new_width, p.new_height};
    const auto want_thumb = resize_as_pillow(img, thumb.width, thumb.height, PillowPassOrder::classic, one);
    const auto want_grid = resize_as_pillow(img, grid.width, grid.height, PillowPassOrder::classic, one);
    std::vector<uint8_t> got_thumb, got_grid;
    auto row = [&](const char* variant, Timed t, double base_wall, bool ok) {
      all_ok = all_ok && ok;
      std::printf("%-16s %-30s %10.2f %10.2f %7.2fx %s\n", name, variant, t.wall, t.cpu, base_wall / t.wall,
                  ok ? "same" : "DIFFER");
    };
    const Timed t1 = time_it(reps, [&] { got_thumb = resize_as_pillow(img, thumb.width, thumb.height, PillowPassOrder::classic, one); });
    row("thumbnail, 1 thread", t1, t1.wall, got_thumb == want_thumb);
    const Timed tn = time_it(reps, [&] { got_thumb = resize_as_pillow(img, thumb.width, thumb.height, PillowPassOrder::classic, many); });
    row("thumbnail, pool", tn, t1.wall, got_thumb == want_thumb);
    const Timed g1 = time_it(reps, [&] {
      got_grid = resize_as_pillow(img, grid.width, grid.height, PillowPassOrder::classic, one);
    });
    row(("grid " + std::to_string(grid.width) + "x" + std::to_string(grid.height) + ", 1 thread").c_str(), g1,
        g1.wall, got_grid == want_grid);
    const Timed gn = time_it(reps, [&] {
      got_grid = resize_as_pillow(img, grid.width, grid.height, PillowPassOrder::classic, many);
    });
    row("grid, pool", gn, g1.wall, got_grid == want_grid);
    const Timed both1 = {t1.wall + g1.wall, t1.cpu + g1.cpu};
    row("thumbnail + grid, 1 thread", both1, both1.wall, true);
    const Timed sep = {tn.wall + gn.wall, tn.cpu + gn.cpu};
    row("thumbnail + grid, pool", sep, both1.wall, true);
    std::vector<std::vector<uint8_t>> outs;
    const Timed shared = time_it(reps, [&] { outs = resize_as_pillow(img, {thumb, grid}, PillowPassOrder::classic, many); });
    row("shared passes, pool", shared, both1.wall, outs[0] == want_thumb && outs[1] == want_grid);
    PreprocessOptions o;
    o.threads = many;
    PreprocessResult r;
    const Timed whole = time_it(reps, [&] { r = preprocess(img, cfg, o); });
    std::printf("%-16s %-30s %10.2f %10.2f  (resize %.2f, tiles %.2f, normalise %.2f: last rep)\n", name,
                "whole preprocess(), pool", whole.wall, whole.cpu, r.timings.resize_ms,
                r.timings.tiles_ms, r.timings.normalize_ms);
  }
  std::printf("bytes: %s\n", all_ok ? "PASS (every variant gives the one-thread bytes)" : "FAIL");
  return all_ok ? 0 : 1;
}
